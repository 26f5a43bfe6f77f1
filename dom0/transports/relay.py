"""Copy one streaming command's stdout into another's stdin: `zfs send` on host A relayed into
`zfs recv` on host B through the worker, when the two Dom0s may not talk to each other.

    source = transport_a.stream(commands.zfs_send(snap, verbose=True, parsable=True), timeout=t)
    sink = transport_b.stream(commands.zfs_recv(dataset), timeout=t)
    result = relay(source, sink, on_progress=show_bytes, on_stderr=log, cancelled=job_cancelled)

Order of events: the source's stdin is closed at once (a sender reads nothing); its stdout is
copied to the sink's stdin in chunks; at the source's EOF the source is waited for, and only if
it succeeded is the sink's stdin closed (EOF) and the sink waited for. A truncated stream is
never ended with a clean EOF: on any failure both commands are cancelled and RelayFailed says
which side failed, with the end of its stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from dom0 import errors
from dom0.transports.base import Result, StreamingCommand

MiB = 1024 * 1024
#: How often `cancelled()` is asked, and the least time between two `on_progress` calls.
POLL_INTERVAL = 0.25
#: Lines of the failed side's stderr quoted in the error message.
TAIL_LINES = 8

#: The sides a failure is attributed to.
SOURCE, SINK, CANCELLED = "source", "sink", "cancelled"


@dataclass(frozen=True)
class RelayResult:
    """What a relay moved: bytes copied, wall time, and both commands' results."""

    bytes: int
    seconds: float
    source_result: Result
    sink_result: Result

    @property
    def mib_per_second(self) -> float:
        return self.bytes / MiB / self.seconds if self.seconds > 0 else 0.0


class RelayFailed(errors.Dom0Error):
    """One side of a relay failed (or the relay was cancelled); both commands are stopped.

    `side` is "source", "sink" or "cancelled"; `bytes` is how much reached the sink's stdin.
    """

    code = "relay_failed"

    def __init__(
        self,
        message: str,
        *,
        side: str,
        bytes_copied: int,
        source_result: Result | None,
        sink_result: Result | None,
        failed: Result | None,
    ) -> None:
        super().__init__(
            message,
            argv=failed.argv if failed else None,
            rc=failed.rc if failed else None,
            stderr=failed.stderr if failed else "",
        )
        self.side = side
        self.bytes = bytes_copied
        self.source_result = source_result
        self.sink_result = sink_result


def stderr_tail(text: str, lines: int = TAIL_LINES) -> str:
    """Return the last non-empty lines of a command's stderr, joined by " | "."""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def relay(
    source: StreamingCommand,
    sink: StreamingCommand,
    *,
    on_progress: Callable[[int], None] | None = None,
    chunk: int = MiB,
    cancelled: Callable[[], bool] | None = None,
    on_stderr: Callable[[str, str], None] | None = None,
) -> RelayResult:
    """Copy source.stdout into sink.stdin until EOF; wait for both; return what was moved.

    `on_progress(total_bytes)` is called at most every POLL_INTERVAL and once at the end;
    `on_stderr(side, line)` gets each stderr line of either side as it comes ("source"/"sink");
    `cancelled()` is asked every POLL_INTERVAL and stops the relay when it returns True.
    Raises RelayFailed (both commands stopped) when either side fails or on cancel.
    """
    return _Relay(source, sink, on_progress, chunk, cancelled, on_stderr).run()


class _Relay:
    def __init__(
        self,
        source: StreamingCommand,
        sink: StreamingCommand,
        on_progress: Callable[[int], None] | None,
        chunk: int,
        cancelled: Callable[[], bool] | None,
        on_stderr: Callable[[str, str], None] | None,
    ) -> None:
        self.source, self.sink = source, sink
        self.on_progress = on_progress
        self.chunk = chunk
        self.cancelled = cancelled
        self.on_stderr = on_stderr
        self.total = 0
        self.stop = threading.Event()
        self.was_cancelled = False
        self.sink_out = bytearray()
        self.threads: list[threading.Thread] = []

    def run(self) -> RelayResult:
        started = time.monotonic()
        with contextlib.suppress(OSError):
            self.source.stdin.close()  # a sender reads nothing; don't leave it an open input
        self._spawn(self._watch_cancel)
        self._spawn(self._drain_sink_stdout)
        if self.on_stderr is not None:
            self._spawn(self._forward_stderr, SOURCE, self.source)
            self._spawn(self._forward_stderr, SINK, self.sink)
        try:
            write_error = self._copy()
            return self._conclude(write_error, started)
        finally:
            self.stop.set()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=f"relay {target.__name__}", daemon=True)
        t.start()
        self.threads.append(t)

    # -- the copy -------------------------------------------------------------------------------

    def _copy(self) -> OSError | None:
        """Copy until the source's EOF; return the error that stopped writes to the sink, if any."""
        read, write = self.source.stdout.read, self.sink.stdin.write
        reported_at = time.monotonic()
        while data := read(self.chunk):
            try:
                write(data)
            except OSError as exc:
                return exc
            self.total += len(data)
            if self.on_progress is not None and time.monotonic() - reported_at >= POLL_INTERVAL:
                reported_at = time.monotonic()
                self.on_progress(self.total)
        if self.on_progress is not None:
            self.on_progress(self.total)
        return None

    def _conclude(self, write_error: OSError | None, started: float) -> RelayResult:
        if write_error is not None and not self.was_cancelled:
            # The sink stopped reading: it failed (or exited early). The source would block on
            # a full pipe forever, so stop it.
            source_result = self.source.cancel()
            sink_result = self._wait(self.sink, SINK, source_result)
            self._fail(SINK, source_result, sink_result, f"stopped reading ({write_error})")
        source_result = self._wait(self.source, SOURCE, None)
        if self.was_cancelled or not source_result.ok:
            sink_result = self.sink.cancel()
            if self.was_cancelled:
                self._fail(CANCELLED, source_result, sink_result, "")
            self._fail(SOURCE, source_result, sink_result, "")
        with contextlib.suppress(OSError):
            self.sink.stdin.close()  # EOF: the whole stream has been written
        sink_result = self._wait(self.sink, SINK, source_result)
        if self.was_cancelled:
            self._fail(CANCELLED, source_result, sink_result, "")
        if not sink_result.ok:
            self._fail(SINK, source_result, sink_result, "")
        return RelayResult(self.total, time.monotonic() - started, source_result, sink_result)

    def _wait(self, cmd: StreamingCommand, side: str, source_result: Result | None) -> Result:
        try:
            result = cmd.wait()
        except errors.CommandTimeout as exc:
            other = self.sink if cmd is self.source else self.source
            other_result = other.cancel()
            failed = Result(cmd.argv, -1, "", exc.stderr, 0.0)
            pair = (failed, other_result) if side == SOURCE else (other_result, failed)
            self._fail(side, *pair, str(exc))
        if side == SINK:
            self._join_sink_drain()
            if self.sink_out and not result.stdout:
                result = dataclasses.replace(
                    result, stdout=self.sink_out.decode("utf-8", "replace")
                )
        return result

    def _fail(
        self, side: str, source_result: Result | None, sink_result: Result | None, why: str
    ) -> NoReturn:
        """Stop both commands and raise RelayFailed naming the side that failed."""
        self.stop.set()
        if source_result is None:
            source_result = self.source.cancel()
        if sink_result is None:
            sink_result = self.sink.cancel()
        failed = {SOURCE: source_result, SINK: sink_result}.get(side)
        done = f"after {self.total} bytes"
        if side == CANCELLED:
            message = f"relay cancelled {done}; both commands were stopped"
        else:
            assert failed is not None
            what = why or f"exited with status {failed.rc}"
            tail = stderr_tail(failed.stderr)
            message = f"relay {side} `{' '.join(failed.argv)}` failed {done}: {what}"
            if tail:
                message += f": {tail}"
        raise RelayFailed(
            message,
            side=side,
            bytes_copied=self.total,
            source_result=source_result,
            sink_result=sink_result,
            failed=failed,
        )

    # -- helper threads -------------------------------------------------------------------------

    def _watch_cancel(self) -> None:
        if self.cancelled is None:
            return
        while not self.stop.wait(POLL_INTERVAL):
            if self.cancelled():
                self.was_cancelled = True
                # Stopping both ends the copy loop: reads see EOF, writes fail.
                self.source.cancel()
                self.sink.cancel()
                return

    def _drain_sink_stdout(self) -> None:
        # A sink that writes to stdout (`zfs recv -v`) must not stall once its buffer fills.
        while data := self.sink.stdout.read(65536):
            self.sink_out.extend(data)
            del self.sink_out[: max(0, len(self.sink_out) - 64 * 1024)]

    def _join_sink_drain(self) -> None:
        for t in self.threads:
            if t.name == "relay _drain_sink_stdout":
                t.join(1.0)

    def _forward_stderr(self, side: str, cmd: StreamingCommand) -> None:
        assert self.on_stderr is not None
        for line in cmd.stderr_lines():
            self.on_stderr(side, line)
