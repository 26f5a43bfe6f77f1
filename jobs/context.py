"""What a job handler sees: its job, its targets, transports to hosts, and recorded steps."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.db import connection

from jobs.choices import ACTIVE_JOB_STATUSES, StepStatus
from jobs.models import Job, JobStep
from jobs.registry import transport_factory

if TYPE_CHECKING:
    from django.db.models import Model

    from dom0.transport import Result, Transport

log = logging.getLogger(__name__)

OUTPUT_TAIL = 8 * 1024
PROGRESS_INTERVAL = 0.25
CANCEL_CHECK_INTERVAL = 0.5
DEFAULT_TIMEOUT = 120.0


class JobCancelled(Exception):
    """The user asked the job to stop; the runner marks it cancelled."""


class StepFailed(Exception):
    """A step failed with a message already written to the step; the job fails with it."""


def tail(text: str, limit: int = OUTPUT_TAIL) -> str:
    if len(text) <= limit:
        return text
    return "…" + text[-limit:]


class JobContext:
    """Run a job's steps and report its progress through the Job row."""

    def __init__(self, job: Job, *, redelivered: bool = False) -> None:
        self.job = job
        self.redelivered = redelivered
        self._transports: dict[tuple[type, Any], Transport] = {}
        self._targets: dict[str, Any] = {}
        self._secrets: list[str] = []
        # A fresh job has no steps yet; only a redelivered one continues a numbering.
        self._seq = job.steps.count() if job.attempt > 1 else 0
        # The runner has just written "Started"; the first progress write can wait a moment.
        self._last_progress_write = time.monotonic()
        self._pending: tuple[int, str] | None = None
        self._progress_lock = threading.Lock()  # guards _pending, _timer, _closed
        self._write_lock = threading.Lock()  # one progress UPDATE at a time
        self._timer: threading.Timer | None = None
        self._closed = False
        self._last_cancel_check = time.monotonic()

    # --- reporting ------------------------------------------------------------------------------
    def progress(self, percent: int | float, message: str = "", *, force: bool = False) -> None:
        """Report progress; writes are coalesced to a few a second (pages poll once a second).

        An update inside the coalescing window is not dropped: it is written when the window
        ends (a timer), before the next step starts, or when the job ends — whichever is first.
        Otherwise `progress(30, "Asking the guest to shut down")` just after the job started
        would leave the page at 0 % / "Started" for the whole command that follows.
        """
        percent = max(0, min(100, int(percent)))
        message = message[:300]
        self.job.progress, self.job.message = percent, message
        with self._progress_lock:
            self._pending = (percent, message)
            if not force and time.monotonic() - self._last_progress_write < PROGRESS_INTERVAL:
                self._flush_at_window_end()
                return
        self._flush_progress()

    def _flush_progress(self, *, wait: bool = False) -> None:
        """Write the pending progress, if any.

        Writes are serialised by `_write_lock` and each takes the newest pending value when it
        starts, so the row ends with the last value reported. The job's own thread never waits
        for the lock (`wait` is only for the timer and for close()): the timer's UPDATE may be
        waiting on a row lock that the job's thread holds in a transaction, and waiting for it
        would deadlock; a timer writes the value instead.
        """
        if not self._write_lock.acquire(blocking=wait):
            with self._progress_lock:
                self._flush_at_window_end()
            return
        try:
            while True:
                with self._progress_lock:
                    pending, self._pending = self._pending, None
                    if pending is None:
                        return
                    self._last_progress_write = time.monotonic()
                try:
                    self._write(pending)
                except Exception:
                    # ("database is locked", a dropped connection): keep the value for the next
                    # flush, unless a newer one was reported meanwhile — that one supersedes it.
                    with self._progress_lock:
                        if self._pending is None:
                            self._pending = pending
                    log.debug("progress write of job %s failed", self.job.pk, exc_info=True)
                    raise
        finally:
            self._write_lock.release()

    def _write(self, pending: tuple[int, str]) -> None:
        # Only while this run still owns the job: a late flush must never overwrite how the job
        # ended (its failure message) or the progress of a run that took it over.
        Job.objects.filter(
            pk=self.job.pk, status__in=ACTIVE_JOB_STATUSES, attempt=self.job.attempt
        ).update(progress=pending[0], message=pending[1])

    def _flush_at_window_end(self) -> None:
        """Start the timer that writes the pending progress when the window ends (lock held)."""
        if self._timer is not None or self._closed:
            return
        delay = max(0.0, self._last_progress_write + PROGRESS_INTERVAL - time.monotonic())
        self._timer = threading.Timer(delay, self._flush_from_timer)
        self._timer.daemon = True
        self._timer.start()

    def _flush_from_timer(self) -> None:
        with self._progress_lock:
            self._timer = None  # a value reported from now on needs a timer of its own
            if self._closed:
                return
        try:
            self._flush_progress(wait=True)
        except Exception:  # the next step or the end of the job writes it again
            log.warning("writing the progress of job %s failed", self.job.pk, exc_info=True)
        finally:
            connection.close()  # this thread's own connection; the thread ends here

    def secret(self, value: str) -> None:
        """Never write `value` into a step's argv or output."""
        if value:
            self._secrets.append(value)

    def redact(self, text: str) -> str:
        for value in self._secrets:
            text = text.replace(value, "********")
        return text

    def check_cancelled(self, *, force: bool = False) -> None:
        """Raise JobCancelled if the user asked to stop (looked up at most every half second)."""
        now = time.monotonic()
        if not force and now - self._last_cancel_check < CANCEL_CHECK_INTERVAL:
            return
        self._last_cancel_check = now
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled

    @contextmanager
    def step(self, label: str, argv: Sequence[str] | None = None) -> Iterator[JobStep]:
        """Record a step; it is marked failed if the block raises."""
        # A coalesced progress update describes what this step is about to do: show it now.
        self._flush_progress()
        self._seq += 1
        record = JobStep.objects.create(
            job=self.job,
            seq=self._seq,
            label=label[:200],
            argv=[self.redact(a) for a in argv] if argv is not None else None,
        )
        started = time.monotonic()
        try:
            yield record
        except BaseException as exc:
            record.status = StepStatus.FAILED
            if not record.output and not isinstance(exc, StepFailed | JobCancelled):
                record.output = self.redact(str(exc))
            raise
        else:
            record.status = StepStatus.OK
        finally:
            if record.seconds is None:
                record.seconds = round(time.monotonic() - started, 3)
            record.save(update_fields=["status", "rc", "seconds", "output"])

    def note(self, label: str, output: str = "") -> None:
        """Record a step that ran no command (a decision, a skipped action)."""
        with self.step(label) as record:
            record.output = self.redact(output)

    # --- targets and host access ------------------------------------------------------------------
    def target(self, role: str) -> Any:
        """Return the job's target object in `role` (fresh from the DB), or None if it is gone."""
        if role not in self._targets:
            row = self.job.targets.filter(role=role).first()
            self._targets[role] = row.obj if row is not None and row.content_type_id else None
        return self._targets[role]

    def transport_for(self, obj: Model) -> Transport:
        """Return a transport to `obj` (a host), opened once per job."""
        key = (type(obj), obj.pk)
        if key not in self._transports:
            self._transports[key] = transport_factory(obj)(obj)
        return self._transports[key]

    @property
    def transport(self) -> Transport:
        """Return the transport to the job's "host" target."""
        host = self.target("host")
        if host is None:
            raise RuntimeError("this job has no host")
        return self.transport_for(host)

    def run(
        self,
        argv: Sequence[str],
        *,
        label: str = "",
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
        stdin: bytes | None = None,
        on: Transport | None = None,
    ) -> Result:
        """Run one command on the job's host (or the transport `on`) as a recorded step.

        With check=True a non-zero exit raises the typed error the parsers map it to (its message
        becomes the job's error); with check=False the result is returned for the caller to judge.
        """
        from dom0.parsers import classify_error

        self.check_cancelled()
        with self.step(label or argv[0], argv) as record:
            result = (on or self.transport).run(list(argv), timeout=timeout, stdin=stdin)
            record.rc = result.rc
            record.seconds = round(result.seconds, 3)
            record.output = self.redact(tail(_combine(result.stdout, result.stderr)))
            if check and result.rc != 0:
                raise classify_error(list(argv), result.rc, result.stdout, result.stderr)
        return result

    def close(self) -> None:
        with self._progress_lock:
            self._closed, timer = True, self._timer
        if timer is not None:
            timer.cancel()
            timer.join()
        # The runner closes before it writes how the job ended: the last progress reported is
        # on the row first, then the final status and message replace what they should.
        try:
            self._flush_progress(wait=True)
        except Exception:  # the job's end matters more than its last percent
            log.warning("writing the last progress of job %s failed", self.job.pk, exc_info=True)
        transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            transport.close()

    def result(self, **values: Any) -> None:
        """Add to the job's result; the runner saves it with the job's final status."""
        self.job.result.update(values)


def _combine(stdout: str, stderr: str) -> str:
    if stdout and stderr:
        return f"{stdout.rstrip()}\n{stderr}"
    return stdout or stderr
