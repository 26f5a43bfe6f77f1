"""What the transports' streaming commands share: stderr lines as they come, the deadline, and the
wait / cancel bookkeeping. Each transport supplies how to signal, wait for and release its command.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import IO

from dom0 import errors
from dom0.transports.base import CANCELLED_RC, ByteReader, ByteWriter, Result

#: How long a cancelled command gets after SIGTERM before SIGKILL.
TERM_GRACE = 2.0
#: After the command exits, how long to wait for output still in flight (EOF).
EOF_GRACE = 5.0
#: Stderr kept for Result.stderr (the end of it); a long `zfs send -v` writes a line a second.
STDERR_KEEP = 256 * 1024
#: Unread stdout kept for Result.stdout (the end of it).
STDOUT_KEEP = 64 * 1024
#: Lines kept for a `stderr_lines()` reader that falls behind (the oldest are dropped).
LINE_BACKLOG = 10_000

# zfs send -v ends its progress lines with "\n"; split on "\r" too in case a tool redraws a line.
_EOL = re.compile(rb"\r\n|\n|\r")


def _decode(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")


class StderrLines:
    """A command's stderr: the whole text (its end) for the Result, and lines for a live reader."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: deque[str] = deque(maxlen=LINE_BACKLOG)
        self._partial = b""
        self._text = bytearray()
        self._closed = False

    def feed(self, data: bytes) -> None:
        with self._cond:
            self._text.extend(data)
            if len(self._text) > STDERR_KEEP:
                del self._text[: len(self._text) - STDERR_KEEP]
            *complete, self._partial = _EOL.split(self._partial + data)
            self._pending.extend(_decode(line) for line in complete)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            if self._partial:
                self._pending.append(_decode(self._partial))
                self._partial = b""
            self._closed = True
            self._cond.notify_all()

    def text(self) -> str:
        with self._cond:
            return _decode(self._text)

    def lines(self) -> Iterator[str]:
        """Yield each stderr line (without its end of line) as it comes, until stderr ends."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._closed)
                if not self._pending:
                    return
                line = self._pending.popleft()
            yield line


class PipeReader:
    """A command's stdout pipe: read returns what is there, b"" at EOF or once it is closed.

    A raw pipe (a subprocess's, unbuffered) is read with one read(2); a buffered one (the
    simulator's) with read1, which returns what is buffered instead of waiting for `size` bytes.
    """

    def __init__(self, pipe: IO[bytes]) -> None:
        self.pipe = pipe

    def read(self, size: int, /) -> bytes:
        try:
            read1 = getattr(self.pipe, "read1", None)
            return (read1(size) if read1 is not None else self.pipe.read(size)) or b""
        except (OSError, ValueError):
            return b""  # closed under us by cancel/kill/finish: the stream has ended


class PipeWriter:
    """A command's stdin pipe; write writes everything (a raw write may write less)."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.pipe = pipe

    def write(self, data: bytes, /) -> int:
        view = memoryview(data)
        try:
            while view:
                view = view[self.pipe.write(view) or 0 :]
        except ValueError as exc:  # written after close() (or closed by kill/cancel)
            raise BrokenPipeError("stdin is closed") from exc
        return len(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.close()


class EmptyReader:
    """The stdout of a command that never started."""

    def read(self, size: int, /) -> bytes:
        return b""


class RefusingWriter:
    """The stdin of a command that never started: every write fails as on a closed pipe."""

    def write(self, data: bytes, /) -> int:
        raise BrokenPipeError("the command is not running")

    def close(self) -> None:
        """Nothing to close."""


class StreamBase:
    """Wait, cancel and deadline logic shared by LocalStream, SSHStream and SimStream.

    Subclasses set `stdin` and `stdout`, feed `self._stderr`, call `_arm()` once the command runs
    and implement the hooks below. Past `timeout` seconds a watchdog kills the command: its stdout
    ends, writes to its stdin fail, and `wait()` raises CommandTimeout.
    """

    stdin: ByteWriter
    stdout: ByteReader

    def __init__(self, argv: list[str], timeout: float) -> None:
        self.argv = argv
        self.timeout = timeout
        self._started = time.monotonic()
        self._deadline = self._started + timeout
        self._stderr = StderrLines()
        self._result: Result | None = None
        self._timed_out = False
        self._cancelled = False
        self._done = threading.Event()
        self._lock = threading.RLock()

    # -- hooks ----------------------------------------------------------------------------------

    def _exited(self) -> bool:
        raise NotImplementedError

    def _wait_exit(self, until: float) -> bool:
        """Wait until the command has exited (True) or the monotonic time `until` (False)."""
        raise NotImplementedError

    def _terminate(self, hard: bool) -> None:
        """Send SIGKILL (hard) or SIGTERM to the command's process group."""
        raise NotImplementedError

    def _returncode(self) -> int | None:
        """The exit code (128+N for signal N), or None if the command reported none."""
        raise NotImplementedError

    def _leftover_stdout(self, until: float) -> bytes:
        """Read what the caller left unread on stdout, up to EOF or `until`."""
        raise NotImplementedError

    def _release(self) -> None:
        """Close pipes or the channel; the stderr reader has ended or been given up on."""
        raise NotImplementedError

    # -- the StreamingCommand interface ---------------------------------------------------------

    def stderr_lines(self) -> Iterator[str]:
        """Yield stderr lines as the command writes them (one reader; ends at EOF)."""
        return self._stderr.lines()

    def poll(self) -> Result | None:
        """Return the Result once the command has ended, else None."""
        if self._result is None and not self._exited():
            return None
        return self.wait()

    def wait(self, timeout: float | None = None) -> Result:
        """Block until the command ends; past its deadline (or `timeout`) kill it and raise."""
        if self._result is None:
            until = self._deadline
            if timeout is not None:
                until = min(until, time.monotonic() + timeout)
            if not self._wait_exit(until):
                self._timed_out = True
                self._terminate(hard=True)
                self._wait_exit(time.monotonic() + TERM_GRACE)
        return self._finish(raise_timeout=True)

    def cancel(self) -> Result:
        """Stop the command: SIGTERM to its process group, SIGKILL after a grace period."""
        with self._lock:
            if self._result is None and not self._exited():
                self._cancelled = True
                self._terminate(hard=False)
                if not self._wait_exit(time.monotonic() + TERM_GRACE):
                    self._terminate(hard=True)
                    self._wait_exit(time.monotonic() + TERM_GRACE)
        return self._finish(raise_timeout=False)

    # -- internals ------------------------------------------------------------------------------

    def _arm(self) -> None:
        threading.Thread(target=self._watch, name=f"deadline {self.argv[0]}", daemon=True).start()

    def _watch(self) -> None:
        # Polls once a second so that a command nobody waits for does not keep this thread
        # until its (possibly hours away) deadline.
        while not self._done.wait(min(1.0, max(0.0, self._deadline - time.monotonic()))):
            if self._exited():
                return
            if time.monotonic() >= self._deadline:
                self._timed_out = True
                self._terminate(hard=True)
                return

    def _finish(self, *, raise_timeout: bool) -> Result:
        with self._lock:
            if self._result is None:
                out = self._leftover_stdout(min(self._deadline, time.monotonic() + EOF_GRACE))
                self._release()
                self._stderr.close()
                rc = self._returncode()
                if rc is None:
                    rc = CANCELLED_RC if (self._cancelled or self._timed_out) else 255
                self._done.set()
                self._result = Result(
                    argv=self.argv,
                    rc=rc,
                    stdout=_decode(out[-STDOUT_KEEP:]),
                    stderr=self._stderr.text(),
                    seconds=time.monotonic() - self._started,
                )
        if self._timed_out and raise_timeout:
            raise errors.CommandTimeout(
                f"{self.argv[0]} did not finish within {self.timeout:g} s and was killed",
                argv=self.argv,
                stderr=self._result.stderr,
            )
        return self._result
