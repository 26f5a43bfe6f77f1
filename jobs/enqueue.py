"""Create job rows and hand them to Celery once the transaction commits."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction

from hosts.choices import ACTIVE_JOB_STATUSES, JobStatus
from hosts.models import Host, Job


def queue_for(host: Host | None) -> str:
    if host is not None and host.queue:
        return host.queue
    return settings.CELERY_TASK_DEFAULT_QUEUE


def enqueue(
    kind: str,
    *,
    title: str,
    target_type: str,
    target_key: str,
    target_label: str = "",
    host: Host | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    """Create a queued job and send it to its queue after the surrounding transaction commits."""
    from hosts.tasks import run_job

    requested_by = user if user is not None and user.is_authenticated else None
    queue = queue_for(host)
    job = Job.objects.create(
        kind=kind,
        title=title,
        target_type=target_type,
        target_key=target_key,
        target_label=target_label,
        host=host,
        requested_by=requested_by,
        params=params or {},
        queue=queue,
        message="Waiting for a worker",
    )
    transaction.on_commit(partial(run_job.apply_async, args=[job.pk], queue=queue))
    return job


def request_cancel(job: Job) -> bool:
    """Ask a job to stop. A queued job is cancelled at once; a running one at its next check."""
    updated = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, cancel_requested=True, message="Cancelled before it started"
    )
    if updated:
        from django.utils import timezone

        Job.objects.filter(pk=job.pk).update(finished_at=timezone.now())
        return True
    return bool(
        Job.objects.filter(pk=job.pk, status__in=ACTIVE_JOB_STATUSES).update(cancel_requested=True)
    )
