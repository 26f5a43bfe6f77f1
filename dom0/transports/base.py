"""The transport interface: value types, protocols, and the path and argv helpers they share."""

from __future__ import annotations

import posixpath
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from dom0 import errors

#: Exit code reported for a command that was cancelled (as a shell reports death by SIGTERM).
CANCELLED_RC = 128 + 15

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Result:
    """What one command did: its argv, exit code, decoded output and wall time."""

    argv: list[str]
    rc: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class FileStat:
    size: int
    mtime: float
    is_dir: bool


@dataclass(frozen=True)
class TransportConfig:
    """Plain data describing how to reach a host; built from the Host row by the caller."""

    kind: str
    address: str = ""
    port: int = 22
    user: str = "root"
    key_path: str = ""
    known_host_key: str = ""
    tool_dir: str = ""
    fs_root: str = ""
    sim_dir: str = ""
    connect_timeout: float = 10.0


@runtime_checkable
class RunningCommand(Protocol):
    """A command started with `Transport.start`; poll it while doing other work."""

    argv: list[str]

    def poll(self) -> Result | None: ...

    def wait(self, timeout: float | None = None) -> Result: ...

    def cancel(self) -> Result: ...


class ByteReader(Protocol):
    """A command's stdout while it runs."""

    def read(self, size: int, /) -> bytes:
        """Return 1 to `size` bytes as soon as some are there; b"" at the end of the stream."""
        ...


class ByteWriter(Protocol):
    """A command's stdin while it runs."""

    def write(self, data: bytes, /) -> int | None:
        """Write all of data, blocking while the command does not read; OSError once it is gone."""
        ...

    def close(self) -> None:
        """Send EOF: the command sees the end of its input."""
        ...


@runtime_checkable
class StreamingCommand(Protocol):
    """A command started with `Transport.stream`: its stdin and stdout are live byte streams.

    Read stdout to EOF (or the command stalls once the transport's buffer fills); close stdin when
    done writing. Stderr is read for you in the background so it can never stall the command:
    `stderr_lines()` yields its lines as they come (e.g. `zfs send -v` progress, one a second) and
    `wait()` returns all of it (the end of it, for very long output) in `Result.stderr`.
    Past the `timeout` given to `stream`, the command is killed: stdout ends, stdin writes fail
    and `wait()` raises CommandTimeout.
    """

    argv: list[str]
    stdin: ByteWriter
    stdout: ByteReader

    def stderr_lines(self) -> Iterator[str]: ...

    def poll(self) -> Result | None: ...

    def wait(self, timeout: float | None = None) -> Result:
        """Wait for the exit; Result.stdout holds only what the caller left unread (its end)."""
        ...

    def cancel(self) -> Result: ...


@runtime_checkable
class Transport(Protocol):
    """Run argv commands on a host and move files to and from it."""

    def run(self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None) -> Result: ...

    def start(self, argv: Sequence[str], *, timeout: float) -> RunningCommand: ...

    def stream(self, argv: Sequence[str], *, timeout: float) -> StreamingCommand:
        """Start argv with live stdin/stdout (e.g. one end of a `zfs send | zfs recv` relay)."""
        ...

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None: ...

    def read_file(self, path: str) -> bytes: ...

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """Read `length` bytes at `offset` (fewer at the end of the file)."""
        ...

    def stat(self, path: str) -> FileStat | None: ...

    def remove(self, path: str) -> None: ...

    def makedirs(self, path: str) -> None: ...

    def put_file(
        self, local_path: str, remote_path: str, progress: ProgressCallback | None = None
    ) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class ClosingMixin:
    """Give a transport `with` support on top of its `close()`."""

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Exiting(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...


def exited_by(proc: _Exiting, until: float) -> bool:
    """Wait for a process (a Popen, or the simulator's SimProcess) to exit, until the moment
    `until` at the latest; say whether it has."""
    try:
        proc.wait(max(0.0, until - time.monotonic()))
    except subprocess.TimeoutExpired:
        return False
    return True


class TimedCommand:
    """A command started with `Transport.start`: its deadline, and `poll`/`wait` built on it.

    The three transports share the clock and the order of checks; each says how its command is
    looked at and stopped: `_ended` (has it exited?), `_block_until` (wait for the exit until a
    moment; False if it has not come), `_timed_out` (stop it and raise CommandTimeout) and
    `_finish` (build the Result once, with `_record`).
    """

    argv: list[str]
    timeout: float
    _result: Result | None

    def _start_clock(self, argv: list[str], timeout: float) -> None:
        self.argv = argv
        self.timeout = timeout
        self._started = time.monotonic()
        self._deadline = self._started + timeout
        self._result = None

    def poll(self) -> Result | None:
        """Return the Result once the command has ended, else None (raise if past its deadline)."""
        if self._result is not None:
            return self._result
        if self._ended():
            return self._finish()
        if time.monotonic() >= self._deadline:
            self._timed_out()
        return None

    def wait(self, timeout: float | None = None) -> Result:
        """Block until the command ends; past the deadline (or `timeout`) stop it and raise."""
        if self._result is not None:
            return self._result
        until = self._deadline
        if timeout is not None:
            until = min(until, time.monotonic() + timeout)
        if not self._block_until(until):
            self._timed_out()
        return self._finish()

    def _record(self, rc: int, stdout: str, stderr: str) -> Result:
        """Keep and return the command's Result, timed from its start."""
        self._result = Result(self.argv, rc, stdout, stderr, time.monotonic() - self._started)
        return self._result

    def _ended(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def _block_until(self, until: float) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def _timed_out(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _finish(self) -> Result:  # pragma: no cover - overridden
        raise NotImplementedError


def check_argv(argv: Sequence[str]) -> list[str]:
    """Return argv as a list after refusing shapes no host command may have."""
    if isinstance(argv, str | bytes):
        # A lone string would be split into characters or, worse, read as a shell line.
        raise errors.ValidationError("argv", "must be a list of strings, not one string", argv)
    items = list(argv)
    if not items:
        raise errors.ValidationError("argv", "must not be empty", argv)
    for item in items:
        if not isinstance(item, str):
            raise errors.ValidationError("argv", "every element must be a string", argv)
        if "\x00" in item:
            raise errors.ValidationError("argv", "must not contain NUL bytes", argv)
    return items


def with_tool_dir(argv: list[str], tool_dir: str) -> list[str]:
    """Return argv with a bare program name resolved inside tool_dir (the simulator's shims)."""
    if not tool_dir or "/" in argv[0]:
        return argv
    return [posixpath.join(tool_dir, argv[0]), *argv[1:]]


def host_path(path: str, fs_root: str) -> str:
    """Return where the host path lives for this transport (under fs_root when one is set)."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise errors.ValidationError("path", "must be an absolute path", path)
    if "\x00" in path:
        raise errors.ValidationError("path", "must not contain NUL bytes", path)
    normal = posixpath.normpath(path)
    # normpath keeps a leading "//"; collapse it so joining with fs_root stays inside the root.
    normal = "/" + normal.lstrip("/")
    if not fs_root:
        return normal
    return (fs_root.rstrip("/") + normal) if normal != "/" else fs_root


def temp_sibling(path: str, token: str) -> str:
    """Return a hidden temporary name in path's directory, so a rename onto path is atomic."""
    head, tail = posixpath.split(path)
    return posixpath.join(head, f".{tail}.xenpanel-{token}.tmp")
