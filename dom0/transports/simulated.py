"""SimTransport: the simulated Dom0 (dom0.sim), called in process.

Commands started with `start()` run in a thread. A thread cannot be killed, so `cancel()` and a
timeout stop *waiting* for the simulated command and report it as cancelled / timed out; the
simulated command itself still finishes in the background.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dom0 import errors
from dom0.transports.base import (
    CANCELLED_RC,
    ClosingMixin,
    Result,
    TimedCommand,
    TransportConfig,
    check_argv,
    exited_by,
    host_path,
)
from dom0.transports.localfs import LocalFiles, LocalFilesMixin
from dom0.transports.streaming import PipeReader, PipeWriter, StreamBase

if TYPE_CHECKING:
    from dom0.sim import SimHost
    from dom0.sim.streams import SimProcess


class SimCommand(TimedCommand):
    """One simulated command running in a daemon thread."""

    def __init__(
        self, sim: SimHost, argv: list[str], *, timeout: float, stdin: bytes | None, where: str
    ) -> None:
        self._start_clock(argv, timeout)
        self._where = where
        self._outcome: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(sim, stdin), daemon=True)
        self._thread.start()

    def _run(self, sim: SimHost, stdin: bytes | None) -> None:
        try:
            self._outcome = sim.run(self.argv, stdin=stdin, timeout=self.timeout)
        except BaseException as exc:  # handed to the caller's thread in _finish
            self._error = exc

    def _ended(self) -> bool:
        return not self._thread.is_alive()

    def _block_until(self, until: float) -> bool:
        self._thread.join(max(0.0, until - time.monotonic()))
        return not self._thread.is_alive()

    def cancel(self) -> Result:
        """Stop waiting for the command and report it as cancelled (rc 143, like SIGTERM)."""
        if self._result is None:
            if self._thread.is_alive():
                self._record(CANCELLED_RC, "", "")
            else:
                self._finish()
        assert self._result is not None
        return self._result

    def _timed_out(self) -> None:
        raise errors.CommandTimeout(
            f"{self.argv[0]} did not finish within {self.timeout:g} s", argv=self.argv
        )

    def _finish(self) -> Result:
        from dom0.sim.result import SimUnreachable

        if isinstance(self._error, SimUnreachable):
            raise errors.HostUnreachable(f"{self._where} does not answer: {self._error}")
        if isinstance(self._error, TimeoutError):
            self._timed_out()
        if self._error is not None:
            raise self._error
        out = self._outcome
        return self._record(int(out.rc), _text(out.stdout), _text(out.stderr))


class SimStream(StreamBase):
    """A simulated command streaming over pipes (`SimHost.popen`, a thread in this process).

    A thread cannot be killed: cancel and timeout close our ends of its pipes (SimProcess.kill),
    so the command sees EOF / EPIPE and stops on its own; if it does not, it is reported as
    cancelled (rc 143) anyway, as SimCommand does.
    """

    def __init__(self, proc: SimProcess, argv: list[str], *, timeout: float) -> None:
        super().__init__(argv, timeout)
        self._proc = proc
        self.stdin = PipeWriter(proc.stdin)
        self.stdout = PipeReader(proc.stdout)
        self._stderr_thread = threading.Thread(
            target=self._read_stderr, name=f"sim stderr {argv[0]}", daemon=True
        )
        self._stderr_thread.start()
        self._arm()

    def _read_stderr(self) -> None:
        reader = PipeReader(self._proc.stderr)
        try:
            while chunk := reader.read(65536):
                self._stderr.feed(chunk)
        finally:
            self._stderr.close()

    def _exited(self) -> bool:
        return self._proc.poll() is not None

    def _wait_exit(self, until: float) -> bool:
        return exited_by(self._proc, until)

    def _terminate(self, hard: bool) -> None:
        if hard:
            self._proc.kill()
        else:
            self._proc.terminate()

    def _returncode(self) -> int | None:
        rc = self._proc.poll()
        if rc is None:
            return None
        return 128 - rc if rc < 0 else rc

    def _leftover_stdout(self, until: float) -> bytes:
        if not self._exited():
            return b""  # the thread outlived cancel; reading could block
        out = bytearray()
        while chunk := self.stdout.read(65536):
            out.extend(chunk)
        return bytes(out)

    def _release(self) -> None:
        self._stderr_thread.join(1.0 if not self._exited() else 5.0)
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            with contextlib.suppress(OSError):
                pipe.close()


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


class SimTransport(LocalFilesMixin, ClosingMixin):
    """Talk to a simulated host whose state lives in `cfg.sim_dir`."""

    def __init__(self, cfg: TransportConfig) -> None:
        if not cfg.sim_dir:
            raise errors.ValidationError("sim_dir", "is required for a simulated host")
        self.cfg = cfg
        self._sim: SimHost | None = None
        self._files = LocalFiles(self._resolve)

    @property
    def sim(self) -> SimHost:
        if self._sim is None:
            from dom0.sim import SimHost

            try:
                self._sim = SimHost(Path(self.cfg.sim_dir))
            except FileNotFoundError as exc:
                raise errors.HostUnreachable(
                    f"no simulated host in {self.cfg.sim_dir}", hint="seed it first"
                ) from exc
        return self._sim

    def _resolve(self, path: str) -> str:
        from dom0.sim.result import SimUnreachable

        try:
            return str(self.sim.path(host_path(path, "")))
        except SimUnreachable as exc:
            raise errors.HostUnreachable(f"simulated host does not answer: {exc}") from exc
        except ValueError as exc:
            raise errors.ValidationError("path", str(exc), path) from exc

    def start(
        self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None
    ) -> SimCommand:
        where = f"simulated host {self.cfg.sim_dir}"
        return SimCommand(self.sim, check_argv(argv), timeout=timeout, stdin=stdin, where=where)

    def run(self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None) -> Result:
        return self.start(argv, timeout=timeout, stdin=stdin).wait()

    def stream(self, argv: Sequence[str], *, timeout: float) -> SimStream:
        """Start argv on the simulated host with live pipes (`SimHost.popen`)."""
        from dom0.sim.result import SimTimeout, SimUnreachable

        items = check_argv(argv)
        try:
            proc = self.sim.popen(items, timeout=timeout)
        except SimUnreachable as exc:
            raise errors.HostUnreachable(
                f"simulated host {self.cfg.sim_dir} does not answer: {exc}"
            ) from exc
        except SimTimeout as exc:
            raise errors.CommandTimeout(
                f"{items[0]} did not finish within {timeout:g} s", argv=items
            ) from exc
        return SimStream(proc, items, timeout=timeout)

    def close(self) -> None:
        """Nothing to release: the simulator keeps its state on disk."""
