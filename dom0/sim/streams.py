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
