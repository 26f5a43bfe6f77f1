"""Celery tasks: thin wrappers that hand a job id to the runner."""

from __future__ import annotations

from celery import shared_task

from jobs.runner import Busy, execute


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def run_job(self, job_id: int) -> str:  # type: ignore[no-untyped-def]
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    try:
        return execute(job_id, redelivered=redelivered, task_id=self.request.id or "")
    except Busy as busy:
        # A target is busy (or another worker still runs the job): wait our turn rather than
        # refuse (documented in the README).
        raise self.retry(countdown=busy.countdown) from None


@shared_task(ignore_result=True)
def reap_and_send() -> dict[str, int]:
    """Send unsent jobs and resume or end those whose worker died (beat runs this)."""
    from jobs.outbox import reap_and_send as sweep

    return sweep()
