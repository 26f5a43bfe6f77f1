"""Celery tasks: thin wrappers that hand a job id to the runner."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from jobs.runner import LockBusy, execute


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def run_job(self, job_id: int) -> str:  # type: ignore[no-untyped-def]
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    try:
        return execute(job_id, redelivered=redelivered)
    except LockBusy:
        # The target is busy: wait our turn rather than refuse (documented in the README).
        raise self.retry(countdown=settings.JOB_LOCK_RETRY_SECONDS) from None
