"""A command running over SSH, and how it is stopped.

How a remote command is stopped (timeout or cancel): every command is sent as

    printf 'xenpanel-pid:%s\\n' "$$" >&2; exec <shlex.join(argv)>

so the remote shell reports its pid on stderr (that line is removed from the Result) and then
becomes the command. sshd runs each session's shell in a new session (setsid), so that pid is also
a process-group id. To stop the command we run `kill -s TERM -- -<pid>` (the whole group, so
children go too) on a second channel of the same connection, then `kill -s KILL` after a grace
period, and close the channel. Closing the channel alone would not stop a command that does not
write: without a pty, sshd does not signal the process when the channel goes away.

The remote account's login shell must be a POSIX sh (FreeBSD's root default since 14.0 is sh).
"""

from __future__ import annotations

import contextlib
import re
import select
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import paramiko

from dom0 import errors
from dom0.transports.base import CANCELLED_RC, Result, TimedCommand
from dom0.transports.streaming import STDOUT_KEEP, StreamBase

#: How long a cancelled command gets after SIGTERM before SIGKILL.
TERM_GRACE = 2.0
#: After the exit status arrives, how long to wait for the rest of the output (EOF).
EOF_GRACE = 5.0

_PID_LINE = re.compile(rb"xenpanel-pid:(\d+)\n")
_PID_PREFIX = "printf 'xenpanel-pid:%s\\n' \"$$\" >&2; exec "


def remote_command(argv: Sequence[str]) -> str:
    """Return the line sent to the remote shell: pid report, then every argv element quoted."""
    return _PID_PREFIX + shlex.join(argv)


def _decode(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")


class CommandOwner(Protocol):
    """What a command needs from the transport that started it."""

    def connection(self) -> paramiko.Transport: ...

    def ssh_errors(self) -> contextlib.AbstractContextManager[None]: ...

    def signal_remote(self, pid: int, signal_name: str) -> None: ...

    @property
    def channel_timeout(self) -> float: ...


class SSHCommand(TimedCommand):
    """A command running on one channel of the transport's SSH connection."""

    def __init__(
        self,
        owner: CommandOwner,
        argv: list[str],
        exec_argv: list[str],
        *,
        timeout: float,
        stdin: bytes | None,
    ) -> None:
        self._start_clock(argv, timeout)
        self._owner = owner
        self._out = bytearray()
        self._err = bytearray()
        self._pid: int | None = None
        self._cancelled = False
        with owner.ssh_errors():
            self._chan = owner.connection().open_session(timeout=owner.channel_timeout)
            self._chan.exec_command(remote_command(exec_argv))
            if stdin:
                self._send_input(stdin)
            self._chan.shutdown_write()

    def _send_input(self, data: bytes) -> None:
        # A command that does not read its input would block sendall forever once the
        # window fills; bound it by the command's own deadline.
        self._chan.settimeout(max(0.01, self._deadline - time.monotonic()))
        try:
            self._chan.sendall(data)
        except TimeoutError:
            self._timed_out()
        finally:
            self._chan.settimeout(None)

    @property
    def remote_pid(self) -> int | None:
        """The remote pid (and process group) of the command, once it has reported it."""
        self._drain()
        return self._pid

    def _ended(self) -> bool:
        self._drain()
        return self._chan.exit_status_ready()

    def _block_until(self, until: float) -> bool:
        return self._wait_until(until, self._chan.exit_status_ready)

    def cancel(self) -> Result:
        """Stop the command: TERM to its remote process group, KILL after a grace period."""
        if self._result is not None:
            return self._result
        self._drain()
        if not self._chan.exit_status_ready():
            self._cancelled = True
            self._kill("TERM")
            if not self._wait_until(time.monotonic() + TERM_GRACE, self._chan.exit_status_ready):
                self._kill("KILL")
                self._wait_until(time.monotonic() + TERM_GRACE, self._chan.exit_status_ready)
        return self._finish()

    def _wait_until(self, deadline: float, done: Callable[[], object]) -> bool:
        while True:
            self._drain()
            if done():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # The channel's fd wakes us on data or close; the exit status alone does not, so
            # wake up regularly to look for it.
            select.select([self._chan], [], [], min(remaining, 0.1))

    def _drain(self) -> None:
        chan = self._chan
        while chan.recv_ready():
            self._out.extend(chan.recv(65536))
        while chan.recv_stderr_ready():
            self._err.extend(chan.recv_stderr(65536))
        if self._pid is None:
            match = _PID_LINE.search(self._err)
            if match:
                self._pid = int(match.group(1))
                del self._err[match.start() : match.end()]

    def _kill(self, signal_name: str) -> None:
        self._drain()
        if self._pid is None:
            return  # the shell never started the command; closing the channel is enough
        self._owner.signal_remote(self._pid, signal_name)

    def _timed_out(self) -> None:
        self._kill("KILL")
        self._chan.close()
        raise errors.CommandTimeout(
            f"{self.argv[0]} did not finish within {self.timeout:g} s and was killed",
            argv=self.argv,
            stderr=_decode(self._err),
        )

    def _finish(self) -> Result:
        eof_by = min(self._deadline, time.monotonic() + EOF_GRACE)
        self._wait_until(eof_by, lambda: self._chan.eof_received or self._chan.closed)
        self._drain()
        status = self._chan.recv_exit_status() if self._chan.exit_status_ready() else -1
        if status < 0:
            # paramiko records no exit status for a command killed by a signal ("exit-signal").
            status = CANCELLED_RC if self._cancelled else 255
        self._chan.close()
        return self._record(status, _decode(self._out), _decode(self._err))


class _ChannelReader:
    """The command's stdout: recv returns what has arrived (up to size), b"" at EOF or close."""

    def __init__(self, chan: paramiko.Channel) -> None:
        self._chan = chan

    def read(self, size: int, /) -> bytes:
        try:
            return bytes(self._chan.recv(size))
        except (paramiko.SSHException, OSError, EOFError):
            return b""  # the connection is gone; wait() reports it


class _ChannelWriter:
    """The command's stdin: sendall, blocking while the remote window is full."""

    def __init__(self, chan: paramiko.Channel) -> None:
        self._chan = chan

    def write(self, data: bytes, /) -> int:
        try:
            self._chan.sendall(data)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise BrokenPipeError(f"SSH channel closed: {str(exc) or type(exc).__name__}") from exc
        return len(data)

    def close(self) -> None:
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
            self._chan.shutdown_write()


class SSHStream(StreamBase):
    """A command on its own exec channel with live stdin/stdout (see base.StreamingCommand).

    A thread reads stderr the whole time: stdout and stderr share the channel's window, so unread
    stderr would stop the command's stdout too. Stopping works as for SSHCommand (module doc).
    """

    def __init__(
        self, owner: CommandOwner, argv: list[str], exec_argv: list[str], *, timeout: float
    ) -> None:
        super().__init__(argv, timeout)
        self._owner = owner
        self._pid: int | None = None
        self._pid_known = threading.Event()
        with owner.ssh_errors():
            self._chan = owner.connection().open_session(timeout=owner.channel_timeout)
            self._chan.exec_command(remote_command(exec_argv))
        self.stdin = _ChannelWriter(self._chan)
        self.stdout = _ChannelReader(self._chan)
        self._stderr_thread = threading.Thread(
            target=self._read_stderr, name=f"stderr {argv[0]}", daemon=True
        )
        self._stderr_thread.start()
        self._arm()

    @property
    def remote_pid(self) -> int | None:
        """The remote pid (and process group) of the command, once it has reported it."""
        return self._pid

    def _read_stderr(self) -> None:
        head = b""  # stderr before the pid line is complete (it is the first thing written)
        try:
            while chunk := self._chan.recv_stderr(65536):
                if self._pid_known.is_set():
                    self._stderr.feed(chunk)
                    continue
                head += chunk
                match = _PID_LINE.match(head)
                if match:
                    self._pid = int(match.group(1))
                    head = head[match.end() :]
                elif b"\n" not in head:
                    continue  # the pid line is still on its way
                self._pid_known.set()  # known, or the shell never ran the printf
                if head:
                    self._stderr.feed(head)
        except (paramiko.SSHException, OSError, EOFError):
            pass
        finally:
            if head and not self._pid_known.is_set():
                self._stderr.feed(head)
            self._pid_known.set()
            self._stderr.close()

    def _exited(self) -> bool:
        return bool(self._chan.exit_status_ready() or self._chan.closed)

    def _wait_exit(self, until: float) -> bool:
        # status_event is set by the exit status and by the channel's close (death by signal).
        return self._chan.status_event.wait(max(0.0, until - time.monotonic()))

    def _terminate(self, hard: bool) -> None:
        self._pid_known.wait(TERM_GRACE)
        if self._pid is not None and not self._exited():
            self._owner.signal_remote(self._pid, "KILL" if hard else "TERM")
        if hard or self._pid is None:
            # Unblocks our own readers and writers at once; the kill above stops the command.
            self._chan.close()

    def _returncode(self) -> int | None:
        if not self._chan.exit_status_ready():
            return None
        status = self._chan.recv_exit_status()
        # paramiko records no exit status for a command killed by a signal ("exit-signal").
        return None if status < 0 else status

    def _leftover_stdout(self, until: float) -> bytes:
        chan, out = self._chan, bytearray()
        while True:
            while chan.recv_ready():
                out.extend(chan.recv(65536))
                del out[: max(0, len(out) - STDOUT_KEEP)]
            remaining = until - time.monotonic()
            if chan.eof_received or chan.closed or remaining <= 0:
                return bytes(out)
            select.select([chan], [], [], min(remaining, 0.1))

    def _release(self) -> None:
        self._stderr_thread.join(EOF_GRACE)
        self._chan.close()
