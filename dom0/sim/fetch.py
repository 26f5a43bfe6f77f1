"""FreeBSD fetch(1): a real download with urllib into the simulated filesystem (facts §6).

The output file grows chunk by chunk (each chunk flushed) so the panel can poll its size; on
failure the partial file is removed unless -R/-r; a SIGTERM'd fetch simply dies and leaves it.
"""

from __future__ import annotations

import getopt
import os
import socket
import time
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .result import CommandExit, SimResult, ok

if TYPE_CHECKING:
    from .host import SimHost

CHUNK = 64 * 1024
DEFAULT_TIMEOUT = 120.0
# libfetch's http.errors spells a few reasons differently from Python's table.
_REASONS = {408: "Request Time-out", 413: "Request Entity Too Large", 414: "Request-URI Too Long"}
_REASONS |= {504: "Gateway Time-out", 302: "Moved Temporarily"}  # libfetch http.errors


def _reason(code: int) -> str:
    if code in _REASONS:
        return _REASONS[code]
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown HTTP error"


def _error_string(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return _reason(exc.code)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, socket.gaierror):
        # errno is None for a gaierror raised without one: "No address record" then.
        messages: dict[int | None, str] = {
            socket.EAI_NONAME: "Host not found",
            socket.EAI_AGAIN: "Transient resolver failure",
            socket.EAI_FAIL: "Non-recoverable resolver failure",
        }
        return messages.get(reason.errno, "No address record")
    if isinstance(reason, TimeoutError | socket.timeout):
        return "Operation timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    if isinstance(reason, ValueError):
        return str(reason) if str(reason) == "Invalid URL scheme" else "Malformed URL"
    return str(reason)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """`fetch -A`: a redirect is an error (libfetch reports the status text)."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _open(url: str, timeout: float, method: str = "GET", *, follow: bool = True) -> BinaryIO:
    # Only the network schemes: a file: URL would read the machine running the simulator.
    if not url.lower().startswith(("http://", "https://", "ftp://")):
        raise urllib.error.URLError(ValueError("Invalid URL scheme"))
    request = urllib.request.Request(url, method=method)  # noqa: S310 (scheme checked above)
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    response: BinaryIO = opener.open(request, timeout=timeout)
    return response


def _human(nbytes: int) -> str:
    prefixes, value, index = " kMGTP", nbytes, 0
    while value > 9999 and index < len(prefixes) - 1:
        value //= 1024
        index += 1
    return f"{value:4d} {prefixes[index]}B"


def _elapsed(seconds: float) -> str:
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400:02d}d{s % 86400 // 3600:02d}h"
    if s >= 3600:
        return f"{s // 3600:02d}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60:02d}m{s % 60:02d}s"
    return f"   {s:02d}s"


def _print_size(url: str, timeout: float, follow: bool = True) -> SimResult:
    try:
        with _open(url, timeout, method="HEAD", follow=follow) as response:
            length = response.headers.get("Content-Length")  # type: ignore[attr-defined]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise CommandExit(1, f"fetch: {_error_string(exc)}") from exc
    return ok(f"{int(length)}\n" if length and length.isdigit() else "Unknown\n")


def _download(
    host: SimHost, url: str, out: str, timeout: float, quiet: bool, keep: bool, follow: bool = True
) -> SimResult:
    local = host.local(out)
    if local.is_dir():
        out = out.rstrip("/") + "/" + (url.rstrip("/").rsplit("/", 1)[-1] or "fetch.out")
        local = host.local(out)
    start = time.monotonic()
    try:
        response = _open(url, timeout, follow=follow)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise CommandExit(1, f"fetch: {url}: {_error_string(exc)}") from exc
    # An existing file is only replaced once the new one is complete.
    part = local.with_name(f".fetch.{os.getpid()}.{local.name}") if local.is_file() else local
    stderr = "" if quiet else f"{out:<46}"
    received, total = 0, response.headers.get("Content-Length")  # type: ignore[attr-defined]
    try:
        with response, part.open("wb") as fh:
            while chunk := response.read(CHUNK):
                fh.write(chunk)
                fh.flush()
                received += len(chunk)
    except (OSError, TimeoutError) as exc:
        if not keep:
            part.unlink(missing_ok=True)
        lines = (
            ["fetch: transfer timed out"]
            if isinstance(exc, TimeoutError)
            else [f"fetch: {url}: {_error_string(exc)}"]
        )
        if total and total.isdigit():
            lines.append(f"{out} appears to be truncated: {received}/{total} bytes")
        raise CommandExit(1, stderr + lines[0], *lines[1:]) from exc
    if part != local:
        part.replace(local)
    _set_mtime(local, response.headers.get("Last-Modified"))  # type: ignore[attr-defined]
    seconds = max(time.monotonic() - start, 1e-3)
    if not quiet:
        stderr += (
            f"        {_human(received)} {_human(int(received / seconds))}ps {_elapsed(seconds)}\n"
        )
    return ok(stderr=stderr)


def _set_mtime(path: Path, header: str | None) -> None:
    if not header:
        return
    try:
        stamp = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return
    os.utime(path, (stamp, stamp))


def fetch(host: SimHost, args: list[str]) -> SimResult:
    try:
        opts, urls = getopt.getopt(args, "146AadFlMmnPpqRrsUvB:i:N:o:S:T:w:")
    except getopt.GetoptError as exc:
        raise CommandExit(1, f"fetch: illegal option -- {exc.opt}") from exc
    options = dict(opts)
    timeout = DEFAULT_TIMEOUT
    if "-T" in options:
        if not options["-T"].isdigit():
            raise CommandExit(1, f"fetch: invalid timeout ({options['-T']})")
        timeout = float(options["-T"]) or DEFAULT_TIMEOUT
    if not urls:
        raise CommandExit(1, "usage: fetch [-146AadFlMmnPpqRrsUv] [-o file] URL ...")
    follow = "-A" not in options  # -A: do not follow HTTP redirects
    if "-s" in options:
        return _print_size(urls[0], timeout, follow)
    out = options.get("-o") or urls[0].rstrip("/").rsplit("/", 1)[-1] or "fetch.out"
    keep = "-R" in options or "-r" in options
    return _download(host, urls[0], out, timeout, "-q" in options, keep, follow)
