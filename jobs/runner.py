"""Run one job: claim it, take its targets' locks, call its handler, write how it ended."""

from __future__ import annotations

import logging
import threading
import traceback
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.quotas import QuotaExceeded
from dom0.errors import Dom0Error
from jobs import locks
from jobs.choices import JobStatus
from jobs.context import JobCancelled, JobContext, StepFailed
from jobs.models import Job
from jobs.registry import get_handler

log = logging.getLogger(__name__)


class Busy(Exception):
    """The job cannot run yet; the task tries again in `countdown` seconds."""

    countdown: float = 2.0


class LockBusy(Busy):
    """Another job holds one of the targets; the task retries later."""

    def __init__(self, holder: int) -> None:
        super().__init__(holder)
        self.holder = holder
        self.countdown = settings.JOB_LOCK_RETRY_SECONDS


def db_now() -> datetime:
    """Return the database's clock. Heartbeats are stamped with it, so a worker on a Dom0 whose
    clock drifts is judged by the same clock as everyone else. (Read, then written as a value:
    SQLite compares the text Django writes, which `Now()` would format differently.)"""
    # SQLite's CURRENT_TIMESTAMP has whole seconds: a job would seem to start before it was
    # queued. strftime's %f gives milliseconds.
    query = (
        "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"
        if connection.vendor == "sqlite"
        else "SELECT CURRENT_TIMESTAMP"
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        value = cursor.fetchone()[0]
    if isinstance(value, str):  # SQLite: 'YYYY-MM-DD HH:MM:SS.SSS', in UTC
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def lapsed(job: Job, now: datetime | None = None) -> bool:
    """Return True if no worker has renewed the job's lease for JOB_LEASE_SECONDS."""
    now = now or db_now()
    seen = job.heartbeat_at or job.started_at or job.created_at
    return seen < now - timedelta(seconds=settings.JOB_LEASE_SECONDS)


def execute(job_id: int, *, redelivered: bool = False, task_id: str = "") -> str:
    """Run job `job_id` to its end and return a one-line summary. Raises Busy to wait.

    Whatever number of messages for the job arrive, one run does the work: a queued job is
    claimed by one conditional update, a running one is only taken over once its lease has
    lapsed (its worker is gone; until then the reaper owns that case), and of the messages that
    wait for a busy target only one keeps retrying.
    """
    try:
        job = Job.objects.get(pk=job_id)
    except Job.DoesNotExist:
        return f"job {job_id} is gone"
    if not job.is_active:
        return f"job {job_id} already {job.status}"
    if job.status == JobStatus.RUNNING and not lapsed(job):
        return f"job {job_id} runs on another worker"
    if job.cancel_requested:
        _finish(job, JobStatus.CANCELLED, message="Cancelled before it started")
        return "cancelled"

    keys = job.lock_keys
    busy = locks.acquire_all(keys, job.pk)
    if busy is not None:
        key, holder = busy
        if not locks.wait_in_line(job.pk, task_id or f"job-{job.pk}"):
            return f"job {job_id} already waits in another message"
        label = job.targets.filter(lock_key=key).values_list("label", flat=True).first() or key
        Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            message=f"Waiting for job #{holder} on {label}", heartbeat_at=db_now()
        )
        raise LockBusy(holder)
    if not _claim(job):
        # Another message of this job started it first; its run holds the same locks (they
        # carry the job id), so they are not ours to release — unless the job has ended.
        if not Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).exists():
            locks.release_all(keys, job.pk)
        return f"job {job_id} is running elsewhere"
    beat = Heartbeat(job.pk, job.attempt)
    beat.start()
    try:
        return _run_claimed(job, redelivered)
    finally:
        beat.stop()
        locks.release_all(keys, job.pk)


def _claim(job: Job) -> bool:
    """Mark the job running for this worker, if no other run has; count the attempt."""
    now = db_now()
    claimable = Job.objects.filter(pk=job.pk, attempt=job.attempt, status=job.status)
    if job.status == JobStatus.RUNNING:  # taking over from a worker that died
        claimable = claimable.filter(heartbeat_at=job.heartbeat_at)
    job.attempt += 1
    job.status = JobStatus.RUNNING
    job.started_at = job.started_at or now
    job.heartbeat_at = now
    job.message = "Started" if job.attempt == 1 else "Resumed after its worker was lost"
    return bool(
        claimable.update(
            status=job.status,
            attempt=job.attempt,
            started_at=job.started_at,
            heartbeat_at=now,
            message=job.message,
        )
    )


class Heartbeat(threading.Thread):
    """Renew a running job's lease (its row and its locks) every JOB_HEARTBEAT_SECONDS."""

    def __init__(self, job_id: int, attempt: int) -> None:
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.job_id, self.attempt = job_id, attempt
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    # Only while this run still owns the job: after a takeover (or the reaper
                    # ended it) the beats would keep a dead run's successor looking alive.
                    mine = Job.objects.filter(
                        pk=self.job_id, status=JobStatus.RUNNING, attempt=self.attempt
                    )
                    if not mine.update(heartbeat_at=db_now()):
                        return
                    locks.renew(self.job_id)
                except Exception:  # a missed beat is not fatal; the lease allows several
                    log.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=settings.JOB_HEARTBEAT_SECONDS + 5)


def _run_claimed(job: Job, redelivered: bool) -> str:
    ctx = JobContext(job, redelivered=redelivered or job.attempt > 1)
    try:
        status, summary, ending = _call_handler(job, ctx)
    finally:
        # Before _finish: progress still pending, flushed after it, would replace the job's
        # "Failed"/"Cancelled" with a stale step message (the flush skips ended jobs as well).
        ctx.close()
    _finish(job, status, **ending)
    return summary


def _call_handler(job: Job, ctx: JobContext) -> tuple[str, str, dict[str, Any]]:
    """Run the job's handler; return its final status, a one-line summary and _finish's values."""
    try:
        summary = get_handler(job.kind)(ctx) or "Done"
    except JobCancelled:
        return JobStatus.CANCELLED, "cancelled", {"message": "Cancelled"}
    except (Dom0Error, StepFailed, QuotaExceeded) as exc:
        failed = {"error": ctx.redact(str(exc)), "message": "Failed"}
        return JobStatus.FAILED, f"failed: {exc}", failed
    except Exception as exc:  # a bug: keep the traceback where an admin can read it
        log.exception("job %s crashed", job.pk)
        error = f"Internal error: {exc.__class__.__name__}: {exc}\n\n{traceback.format_exc()}"
        return (
            JobStatus.FAILED,
            f"crashed: {exc}",
            {"error": ctx.redact(error), "message": "Failed"},
        )
    return JobStatus.SUCCEEDED, summary, {"message": summary, "progress": 100}


def _finish(
    job: Job, status: str, *, message: str = "", error: str = "", progress: int | None = None
) -> None:
    """Write how the job ended — a run only for the attempt it claimed: if the reaper ended or
    handed the job to another worker meanwhile, this run's outcome is not the job's."""
    values: dict[str, object] = {
        "status": status,
        "finished_at": timezone.now(),
        "message": message[:300],
        "error": error,
        "result": job.result,
    }
    if progress is not None:
        values["progress"] = progress
    rows = Job.objects.filter(pk=job.pk)
    if job.status == JobStatus.RUNNING:  # set by _claim: this run's attempt
        rows = rows.filter(status=JobStatus.RUNNING, attempt=job.attempt)
    rows.update(**values)
