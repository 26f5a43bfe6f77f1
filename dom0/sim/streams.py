"""Commands that stream: `zfs send`, `zfs recv`, `xl migrate`, `xl migrate-receive`.

These tools move more bytes than fit a SimResult, and talk while they run (progress lines, xl's
handshake), so they are written against a StreamIO (binary stdin/stdout, stderr lines) and run
three ways:

- `SimHost.run(argv, stdin=bytes)`: over in-memory buffers; stdout comes back as text decoded with
  utf-8/"surrogateescape", so `result.stdout.encode("utf-8", "surrogateescape")` is the exact bytes.
- `SimHost.popen(argv) -> SimProcess`: in a thread over three `os.pipe()`s, for relaying one host's
  `zfs send` into another's `zfs recv` (the transports' `stream()`):

      proc = host.popen(["zfs", "send", "-P", "zroot/xen/web1-disk0@m1"])
      proc.stdin  -> binary writer (close it to send EOF) | proc.stdout -> binary reader
      proc.stderr -> binary reader (lines)                | proc.poll() -> int | None
      proc.wait(timeout=None) -> int (subprocess.TimeoutExpired on timeout)
      proc.communicate(input=None, timeout=None) -> (stdout bytes, stderr bytes)
      proc.kill() / proc.terminate(): close our pipe ends; the command sees EOF / EPIPE, stops,
      and returncode becomes -9 (SIGKILL) or -15 (SIGTERM), as for a killed process.

- the command shims (cli.py): over the process's real stdin/stdout/stderr, live.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from .result import CommandExit, SimResult

if TYPE_CHECKING:
    from .host import SimHost


@dataclass
class StreamIO:
    """The standard streams of one streaming command."""

    stdin: IO[bytes]
    stdout: IO[bytes]
    stderr: IO[bytes]
    cancelled: threading.Event = field(default_factory=threading.Event)

    def err(self, *lines: str) -> None:
        """Write whole lines to stderr at once (so lines of two writers never interleave)."""
        if not lines:
            return
        data = "".join(f"{line}\n" for line in lines).encode("utf-8", "replace")
        try:
            self.stderr.write(data)
            self.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass

    def exit(self, exc: CommandExit) -> int:
        self.err(*exc.lines)
        return exc.rc


StreamHandler = Callable[["SimHost", list[str], StreamIO], int]

#: What `set_stream_faults(migrate_fault=...)` accepts (read by the receiving host's
#: `xl migrate-receive`): the connection drops after the receiver said "ready" (it keeps
#: `<name>--incoming`, paused, and never gets the go), or after it started the domain (its report
#: never reaches the sender). Either way the sender prints xl's "final handshake" paragraph.
MIGRATE_FAULTS = ("hangup-after-ready", "hangup-after-start")


def set_stream_faults(
    host: SimHost,
    *,
    cut_send_after: int | None = None,
    cuts: int | None = None,
    migrate_rate: int | None = None,
    migrate_fault: str | None = None,
) -> None:
    """Inject faults into this host's streaming commands (None keeps the current value).

    - `cut_send_after`/`cuts`: the next `cuts` (default 1) `zfs send` streams longer than
      `cut_send_after` bytes stop after that many bytes, as when the connection drops: zfs send
      prints "warning: cannot send '<snap>': Broken pipe" and exits 1 (0 bytes = no cut).
    - `migrate_rate`: `xl migrate` sends the memory image at most this many bytes/s (0 = no
      limit), so a test can cancel it half-way.
    - `migrate_fault`: one of MIGRATE_FAULTS ("" = none), used once by `xl migrate-receive`.
    """
    if migrate_fault and migrate_fault not in MIGRATE_FAULTS:
        raise ValueError(f"unknown migrate_fault {migrate_fault!r}")
    with host.store.edit() as state:
        opts = state.setdefault("stream", {})
        if cut_send_after is not None:
            opts["cut_after"] = int(cut_send_after)
            opts["cuts"] = 1 if cuts is None else int(cuts)
        elif cuts is not None:
            opts["cuts"] = int(cuts)
        if migrate_rate is not None:
            opts["migrate_rate"] = int(migrate_rate)
        if migrate_fault is not None:
            opts["migrate_fault"] = migrate_fault


def take_send_cut(host: SimHost, size: int) -> int | None:
    """The byte count after which this `zfs send` of `size` bytes breaks (and use up one cut)."""
    with host.store.edit() as state:
        opts = state.get("stream", {})
        cut, left = int(opts.get("cut_after", 0)), int(opts.get("cuts", 0))
        if not cut or left <= 0 or size <= cut:
            return None
        opts["cuts"] = left - 1
    return cut


def take_migrate_fault(host: SimHost) -> str:
    """The injected `xl migrate-receive` fault ("" if none); it happens once."""
    with host.store.edit() as state:
        opts = state.get("stream", {})
        fault = str(opts.pop("migrate_fault", "") or "")
    return fault


def migrate_rate(host: SimHost) -> int:
    return int(host.store.read().get("stream", {}).get("migrate_rate", 0))


def streaming_handler(tool: str, args: Sequence[str]) -> StreamHandler | None:
    """Return the streaming implementation of `tool args...`, or None for a buffered command."""
    words = [a for a in args if not a.startswith("-")]
    sub = words[0] if words else ""
    if tool == "zfs" and args and args[0] == "send":
        from .zfs_stream import zfs_send

        return zfs_send
    if tool == "zfs" and args and args[0] in ("recv", "receive"):
        from .zfs_recv import zfs_recv

        return zfs_recv
    if tool == "sh":
        from .sh import sh

        return sh
    if tool == "xl" and sub in ("migrate", "migrate-receive"):
        from .xl_migrate import xl_streaming

        return xl_streaming
    return None


def run_buffered(
    host: SimHost, handler: StreamHandler, args: list[str], stdin: bytes | None
) -> SimResult:
    """Run a streaming handler over memory buffers (SimHost.run)."""
    out, err = io.BytesIO(), io.BytesIO()
    streams = StreamIO(io.BytesIO(stdin or b""), out, err)
    try:
        rc = handler(host, args, streams)
    except CommandExit as exc:
        rc = streams.exit(exc)
    text = out.getvalue().decode("utf-8", "surrogateescape")
    return SimResult(rc, text, err.getvalue().decode("utf-8", "replace"))


class SimProcess:
    """A command running on a simulated host in a thread, with pipes like subprocess.Popen."""

    def __init__(
        self, host: SimHost, argv: Sequence[str], target: Callable[[StreamIO], int]
    ) -> None:
        self.args = list(argv)
        self.returncode: int | None = None
        self.exception: BaseException | None = None
        self._signal: int | None = None
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        self.stdin: IO[bytes] = os.fdopen(in_w, "wb", buffering=0)
        self.stdout: IO[bytes] = os.fdopen(out_r, "rb")
        self.stderr: IO[bytes] = os.fdopen(err_r, "rb")
        self._streams = StreamIO(
            os.fdopen(in_r, "rb", buffering=0),
            os.fdopen(out_w, "wb", buffering=0),
            os.fdopen(err_w, "wb", buffering=0),
        )
        self._thread = threading.Thread(
            target=self._main,
            args=(target,),
            name=f"sim {host.state_dir.name}: {' '.join(self.args)[:60]}",
            daemon=True,
        )
        self._thread.start()

    def _main(self, target: Callable[[StreamIO], int]) -> None:
        streams = self._streams
        rc = 1
        try:
            rc = target(streams)
        except CommandExit as exc:
            rc = streams.exit(exc)
        except BrokenPipeError:
            rc = 1
        except BaseException as exc:  # a bug in the simulator: show it like a crashed tool
            self.exception = exc
            streams.err(*traceback.format_exc().splitlines())
            rc = 70
        finally:
            for stream in (streams.stdout, streams.stderr, streams.stdin):
                try:
                    stream.close()
                except OSError:
                    pass
            self.returncode = -self._signal if self._signal else rc

    # -- subprocess.Popen's interface ---------------------------------------------------------

    def poll(self) -> int | None:
        return self.returncode if not self._thread.is_alive() else None

    def wait(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def communicate(
        self, input: bytes | None = None, timeout: float | None = None
    ) -> tuple[bytes, bytes]:
        """Feed `input`, close stdin, and read stdout and stderr to the end."""
        chunks: dict[str, bytes] = {}

        def drain(name: str, stream: IO[bytes]) -> None:
            chunks[name] = stream.read()

        readers = [
            threading.Thread(target=drain, args=("out", self.stdout), daemon=True),
            threading.Thread(target=drain, args=("err", self.stderr), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            if input:
                self.stdin.write(input)
        except BrokenPipeError:
            pass
        finally:
            self._close(self.stdin)
        for reader in readers:
            reader.join(timeout)
        self.wait(timeout)
        return chunks.get("out", b""), chunks.get("err", b"")

    def send_signal(self, sig: int) -> None:
        if self._thread.is_alive():
            self._signal = int(sig)
            self._streams.cancelled.set()
            self._close(self.stdin)
            self._close(self.stdout)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    @staticmethod
    def _close(stream: IO[bytes]) -> None:
        try:
            stream.close()
        except OSError:
            pass

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        for stream in (self.stdin, self.stdout, self.stderr):
            self._close(stream)
        self.wait()
