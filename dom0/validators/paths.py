"""Absolute paths under allowed roots, and download URLs whose host must be public."""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

from dom0.errors import ValidationError
from dom0.validators.base import text as as_text

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def abs_path(
    value: object, field: str, allowed_roots: Sequence[str], *, allow_root: bool = False
) -> str:
    """Return a normalised absolute path strictly under one of `allowed_roots`."""
    path = value if isinstance(value, str) else None
    if path is None:
        raise ValidationError(field, "must be text", value)
    if _CONTROL_RE.search(path):
        raise ValidationError(field, "must not contain control characters or newlines", value)
    if not path.startswith("/"):
        raise ValidationError(field, "must be an absolute path (starting with '/')", value)
    if ".." in path.split("/"):
        raise ValidationError(field, "must not contain '..'", value)
    normal = posixpath.normpath(path)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    for root in allowed_roots:
        root = posixpath.normpath(root)
        if normal == root and allow_root:
            return normal
        if normal.startswith(root.rstrip("/") + "/") and normal != root:
            return normal
    roots = ", ".join(allowed_roots) or "(none configured)"
    raise ValidationError(field, f"must be inside one of: {roots}", value)


_URL_SCHEMES = ("http", "https", "ftp")
_HOSTNAME_RE = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*\.?"
)
_NUMERIC_HOST_RE = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.I)
_USERINFO_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


def redact_url(value: str) -> str:
    """Return `value` with any `user:pass@` and query string masked, for logs and pages.

    Signed download links carry their token in the query string, so it is as secret as a password.
    """
    masked = _USERINFO_RE.sub(r"\1***@", value)
    head, sep, _query = masked.partition("?")
    return f"{head}?***" if sep else masked


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """Read a numeric host the way inet_aton/getaddrinfo do (`127.1`, `0x7f.1`, `2130706433`)."""
    parts = host.rstrip(".").split(".")
    nums: list[int] = []
    for part in parts:
        low = part.lower()
        try:
            if low.startswith("0x"):
                nums.append(int(low[2:] or "0", 16))
            elif len(low) > 1 and low.startswith("0"):
                nums.append(int(low, 8))
            else:
                nums.append(int(low, 10))
        except ValueError:
            return None
    total = 0
    for i, num in enumerate(nums[:-1]):
        if num > 255:
            return None
        total |= num << (24 - 8 * i)
    last_bits = 32 - 8 * (len(nums) - 1)
    if nums[-1] >= 1 << last_bits:
        return None
    return ipaddress.IPv4Address(total | nums[-1])


def _is_private(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None and _is_private(mapped):
            return True
    return (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


_PRIVATE_RULE = (
    "points at a loopback, private, link-local or otherwise non-public address, which is not "
    "allowed for downloads"
)


def url(value: object, field: str = "url", *, allow_private: bool = False) -> str:
    """Return an http, https or ftp URL that is safe to hand to `fetch` on a host."""
    text = as_text(value, field)
    if not text or _CONTROL_RE.search(text) or " " in text:
        raise ValidationError(field, "must be a URL without spaces or control characters", value)
    if len(text) > 2048:
        raise ValidationError(field, "must be at most 2048 characters", value)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(field, f"is not a valid URL ({exc})", value) from None
    if parts.scheme.lower() not in _URL_SCHEMES:
        raise ValidationError(field, "must start with http://, https:// or ftp://", value)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(
            field,
            "must not contain a user name or password (they would end up in logs and process "
            "lists)",
            redact_url(text),
        )
    host = parts.hostname
    if not host:
        raise ValidationError(field, "must name a host, e.g. https://download.freebsd.org/...")
    if port == 0:
        raise ValidationError(field, "must not use port 0", value)
    _check_host(host, field, text, allow_private)
    return text


def _last_label(host: str) -> str:
    return host.rstrip(".").rsplit(".", 1)[-1]


def _check_host(host: str, field: str, value: str, allow_private: bool) -> None:
    host = host.lower()
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    if ":" in host:
        try:
            ip = ipaddress.IPv6Address(host)
        except ValueError:
            raise ValidationError(field, "has an invalid IPv6 address", value) from None
    elif _NUMERIC_HOST_RE.fullmatch(host) or re.fullmatch(r"[0-9]+|0x[0-9a-f]*", _last_label(host)):
        # Resolvers read numeric hosts with inet_aton rules; a numeric last label is never DNS.
        ip = _inet_aton(host)
        if ip is None:
            raise ValidationError(field, "has an invalid numeric host address", value)
    elif not _HOSTNAME_RE.fullmatch(host):
        raise ValidationError(field, "has an invalid host name", value)
    if allow_private:
        return
    if ip is not None and _is_private(ip):
        raise ValidationError(field, _PRIVATE_RULE, value)
    if host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
        raise ValidationError(field, _PRIVATE_RULE, value)


def resolve_and_check(
    host: str,
    resolver: Callable[[str], Iterable[str]],
    field: str = "url",
    *,
    allow_private: bool = False,
) -> list[str]:
    """Resolve `host` with `resolver` and refuse it if any address is not public."""
    addresses = [str(a) for a in resolver(host)]
    if not addresses:
        raise ValidationError(field, f"the host name '{host}' does not resolve", host)
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if _is_private(ip):
                raise ValidationError(
                    field,
                    f"'{host}' resolves to {address}, a loopback, private, link-local or otherwise "
                    "non-public address, which is not allowed for downloads",
                    host,
                )
    return addresses
