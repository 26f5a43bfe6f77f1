"""Run one job: claim it, take its targets' locks, call its handler, write how it ended."""

from __future__ import annotations

import logging
import traceback

from django.utils import timezone

from accounts.quotas import QuotaExceeded
from dom0.errors import Dom0Error
from jobs import locks
from jobs.choices import JobStatus
from jobs.context import JobCancelled, JobContext, StepFailed
from jobs.models import Job
from jobs.registry import get_handler

log = logging.getLogger(__name__)


class LockBusy(Exception):
    """Another job holds one of the targets; the task retries later."""

    def __init__(self, holder: int) -> None:
        super().__init__(holder)
        self.holder = holder


def execute(job_id: int, *, redelivered: bool = False) -> str:
    """Run job `job_id` to its end and return a one-line summary. Raises LockBusy to wait."""
    try:
        job = Job.objects.get(pk=job_id)
    except Job.DoesNotExist:
        return f"job {job_id} is gone"
    if not job.is_active:
        return f"job {job_id} already {job.status}"
    if job.cancel_requested:
        _finish(job, JobStatus.CANCELLED, message="Cancelled before it started")
        return "cancelled"

    keys = job.lock_keys
    busy = locks.acquire_all(keys, job.pk)
    if busy is not None:
        key, holder = busy
        label = job.targets.filter(lock_key=key).values_list("label", flat=True).first() or key
        Job.objects.filter(pk=job.pk).update(message=f"Waiting for job #{holder} on {label}")
        raise LockBusy(holder)

    try:
        return _run_locked(job, redelivered)
    finally:
        locks.release_all(keys, job.pk)


def _run_locked(job: Job, redelivered: bool) -> str:
    # The attempt counter tells a redelivered job from a fresh one (we hold the target's lock).
    job.status = JobStatus.RUNNING
    job.attempt += 1
    job.started_at = job.started_at or timezone.now()
    job.message = "Started" if job.attempt == 1 else "Resumed after a worker was lost"
    Job.objects.filter(pk=job.pk).update(
        status=job.status, attempt=job.attempt, started_at=job.started_at, message=job.message
    )
    ctx = JobContext(job, redelivered=redelivered or job.attempt > 1)
    try:
        summary = get_handler(job.kind)(ctx) or "Done"
    except JobCancelled:
        _finish(job, JobStatus.CANCELLED, message="Cancelled")
        return "cancelled"
    except (Dom0Error, StepFailed, QuotaExceeded) as exc:
        _finish(job, JobStatus.FAILED, error=ctx.redact(str(exc)), message="Failed")
        return f"failed: {exc}"
    except Exception as exc:  # a bug: keep the traceback where an admin can read it
        log.exception("job %s crashed", job.pk)
        _finish(
            job,
            JobStatus.FAILED,
            error=ctx.redact(
                f"Internal error: {exc.__class__.__name__}: {exc}\n\n{traceback.format_exc()}"
            ),
            message="Failed",
        )
        return f"crashed: {exc}"
    finally:
        ctx.close()
    _finish(job, JobStatus.SUCCEEDED, message=summary, progress=100)
    return summary


def _finish(
    job: Job, status: str, *, message: str = "", error: str = "", progress: int | None = None
) -> None:
    values: dict[str, object] = {
        "status": status,
        "finished_at": timezone.now(),
        "message": message[:300],
        "error": error,
        "result": job.result,
    }
    if progress is not None:
        values["progress"] = progress
    Job.objects.filter(pk=job.pk).update(**values)
