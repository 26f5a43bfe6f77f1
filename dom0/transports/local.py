"""LocalTransport: run commands with subprocess on this machine (a panel installed on the Dom0)."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import IO

from dom0 import errors
from dom0.transports.base import (
    ClosingMixin,
    Result,
    TimedCommand,
    TransportConfig,
    check_argv,
    exited_by,
    host_path,
    with_tool_dir,
)
from dom0.transports.localfs import LocalFiles, LocalFilesMixin
from dom0.transports.streaming import (
    EmptyReader,
    PipeReader,
    PipeWriter,
    RefusingWriter,
    StreamBase,
)

#: How long a cancelled command gets to exit after SIGTERM before its group is SIGKILLed.
TERM_GRACE = 2.0
#: After the command exits, how long to keep reading output a leftover child may still hold open.
EOF_GRACE = 5.0


def _decode(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")


def _shell_rc(returncode: int) -> int:
    # Report death by signal N as 128+N, the way a remote shell over SSH would.
    return 128 - returncode if returncode < 0 else returncode


class LocalCommand(TimedCommand):
    """A subprocess in its own session, so a timeout or cancel can kill its whole group."""

    def __init__(
        self, argv: list[str], exec_argv: list[str], *, timeout: float, stdin: bytes | None
    ) -> None:
        self._start_clock(argv, timeout)
        self._out = bytearray()
        self._err = bytearray()
        self._threads: list[threading.Thread] = []
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                exec_argv,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            # Mirror what sh says and returns, so job code sees the same thing over SSH.
            rc = 127 if not isinstance(exc, PermissionError) else 126
            why = "not found" if rc == 127 else "Permission denied"
            self._proc = None
            self._result = Result(argv, rc, "", f"{exec_argv[0]}: {why}\n", 0.0)
            return
        self._pump(self._proc.stdout, self._out)
        self._pump(self._proc.stderr, self._err)
        if stdin is not None:
            self._feed(stdin)

    @property
    def pid(self) -> int | None:
        """The pid (and process group) of the command; None if it could not be started."""
        return self._proc.pid if self._proc is not None else None

    def _pump(self, stream: IO[bytes] | None, into: bytearray) -> None:
        def read() -> None:
            assert stream is not None
            fd = stream.fileno()
            while chunk := os.read(fd, 65536):
                into.extend(chunk)

        t = threading.Thread(target=read, daemon=True)
        t.start()
        self._threads.append(t)

    def _feed(self, data: bytes) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        pipe = self._proc.stdin

        def write() -> None:
            try:
                pipe.write(data)
            except (BrokenPipeError, OSError):
                pass  # the command did not read all its input; its exit code tells the story
            finally:
                try:
                    pipe.close()
                except OSError:
                    pass

        t = threading.Thread(target=write, daemon=True)
        t.start()

    # A command that could not be started has its Result from __init__ (and no process), so
    # poll/wait return it before these are asked.
    def _ended(self) -> bool:
        assert self._proc is not None
        return self._proc.poll() is not None

    def _block_until(self, until: float) -> bool:
        assert self._proc is not None
        return exited_by(self._proc, until)

    def cancel(self) -> Result:
        """Stop the command: SIGTERM to its process group, SIGKILL after a grace period."""
        if self._result is not None or self._proc is None:
            assert self._result is not None
            return self._result
        if self._proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self._proc.wait(TERM_GRACE)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self._proc.wait()
        return self._finish()

    def _signal_group(self, sig: int) -> None:
        assert self._proc is not None
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    def _timed_out(self) -> None:
        assert self._proc is not None
        self._signal_group(signal.SIGKILL)
        self._proc.wait()
        self._join(1.0)
        raise errors.CommandTimeout(
            f"{self.argv[0]} did not finish within {self.timeout:g} s and was killed",
            argv=self.argv,
            stderr=_decode(self._err),
        )

    def _join(self, limit: float) -> None:
        # A daemon the command left behind may hold the pipes open; don't wait on it forever.
        end = time.monotonic() + limit
        for t in self._threads:
            t.join(max(0.0, end - time.monotonic()))

    def _finish(self) -> Result:
        assert self._proc is not None
        self._join(EOF_GRACE)
        return self._record(
            _shell_rc(self._proc.returncode), _decode(self._out), _decode(self._err)
        )


class LocalStream(StreamBase):
    """A subprocess in its own session with live stdin/stdout pipes (see base.StreamingCommand)."""

    def __init__(self, argv: list[str], exec_argv: list[str], *, timeout: float) -> None:
        super().__init__(argv, timeout)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_thread: threading.Thread | None = None
        try:
            self._proc = subprocess.Popen(
                exec_argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
                bufsize=0,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            # Mirror what sh says and returns, so job code sees the same thing over SSH.
            self._rc_unstarted = 127 if not isinstance(exc, PermissionError) else 126
            why = "not found" if self._rc_unstarted == 127 else "Permission denied"
            self.stdin, self.stdout = RefusingWriter(), EmptyReader()
            self._stderr.feed(f"{exec_argv[0]}: {why}\n".encode())
            self._stderr.close()
            return
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        self.stdin = PipeWriter(self._proc.stdin)
        self.stdout = PipeReader(self._proc.stdout)
        self._stderr_thread = threading.Thread(
            target=self._read_stderr, args=(self._proc.stderr.fileno(),), daemon=True
        )
        self._stderr_thread.start()
        self._arm()

    @property
    def pid(self) -> int | None:
        """The pid (and process group) of the command; None if it could not be started."""
        return self._proc.pid if self._proc is not None else None

    def _read_stderr(self, fd: int) -> None:
        try:
            while chunk := os.read(fd, 65536):
                self._stderr.feed(chunk)
        except OSError:
            pass
        finally:
            self._stderr.close()

    def _exited(self) -> bool:
        return self._proc is None or self._proc.poll() is not None

    def _wait_exit(self, until: float) -> bool:
        return self._proc is None or exited_by(self._proc, until)

    def _terminate(self, hard: bool) -> None:
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL if hard else signal.SIGTERM)

    def _returncode(self) -> int | None:
        if self._proc is None:
            return self._rc_unstarted
        rc = self._proc.returncode
        return None if rc is None else _shell_rc(rc)

    def _leftover_stdout(self, until: float) -> bytes:
        if self._proc is None or self._proc.stdout is None:
            return b""
        try:
            fd = self._proc.stdout.fileno()
        except ValueError:
            return b""
        out = bytearray()
        # A daemon the command left behind may hold the pipe open: read only until `until`.
        while (remaining := until - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                break
            chunk = self.stdout.read(65536)
            if not chunk:
                break
            out.extend(chunk)
        return bytes(out)

    def _release(self) -> None:
        if self._stderr_thread is not None:
            self._stderr_thread.join(EOF_GRACE)
        if self._proc is None:
            return
        self.stdin.close()
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


class LocalTransport(LocalFilesMixin, ClosingMixin):
    """Run argv lists (never a shell) on this machine; file operations on the local filesystem."""

    def __init__(self, cfg: TransportConfig | None = None) -> None:
        self.cfg = cfg or TransportConfig(kind="local")
        root = self.cfg.fs_root
        self._files = LocalFiles(lambda path: host_path(path, root))

    def start(
        self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None
    ) -> LocalCommand:
        items = check_argv(argv)
        return LocalCommand(
            items, with_tool_dir(items, self.cfg.tool_dir), timeout=timeout, stdin=stdin
        )

    def run(self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None) -> Result:
        return self.start(argv, timeout=timeout, stdin=stdin).wait()

    def stream(self, argv: Sequence[str], *, timeout: float) -> LocalStream:
        items = check_argv(argv)
        return LocalStream(items, with_tool_dir(items, self.cfg.tool_dir), timeout=timeout)

    def close(self) -> None:
        """Nothing to release: each command owns its own process."""
