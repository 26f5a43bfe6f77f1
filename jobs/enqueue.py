"""Create job rows with their targets and hand them to Celery once the transaction commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from accounts import audit
from accounts.models import AuditAction
from jobs import outbox
from jobs.choices import ACTIVE_JOB_STATUSES, JobStatus
from jobs.models import Job, JobTarget
from jobs.runner import lapsed


@dataclass(frozen=True)
class Target:
    """An object a job acts on, its role in the job, and the key it locks ('' for none).

    `Target.locking(role, obj)` locks the object's own `lock_key`; a plain `Target(role, obj)`
    names the object without locking it (a domU job names its host so that it shows on the host's
    page and reaches the host, but two domUs' jobs on one host still run side by side).
    """

    role: str
    obj: Model | None = None
    lock: str = ""
    label: str = ""

    @classmethod
    def locking(cls, role: str, obj: Model, *, label: str = "") -> Target:
        return cls(role, obj, lock=obj.lock_key, label=label)  # type: ignore[attr-defined]

    @property
    def text(self) -> str:
        return (self.label or (str(self.obj) if self.obj is not None else self.role))[:200]


def queue_for(targets: Sequence[Target]) -> str:
    """Return the first target's own queue (a host with a worker on it), else the default."""
    for target in targets:
        queue = getattr(target.obj, "job_queue", "") if target.obj is not None else ""
        if queue:
            return str(queue)
    return settings.CELERY_TASK_DEFAULT_QUEUE


def enqueue(
    kind: str,
    *,
    title: str,
    targets: Sequence[Target],
    user: AbstractBaseUser | AnonymousUser | None = None,
    params: dict[str, Any] | None = None,
    queue: str | None = None,
) -> Job:
    """Create a queued job and send it to its queue after the surrounding transaction commits.

    The queue is the first target's own (`job_queue`) unless `queue` names one: a job that must
    run where a file of the web machine is (an uploaded ISO) asks for the central pool.
    """
    # Callers hand in `request.user` typed as the abstract base (`accounts.access.User`); signed
    # in, it is the panel's user model, which `Job.requested_by` points at.
    requested_by = user if isinstance(user, User) and user.is_authenticated else None
    queue = queue or queue_for(targets)
    job = Job.objects.create(
        kind=kind,
        title=title,
        target_label=targets[0].text if targets else "",
        requested_by=requested_by,
        params=params or {},
        queue=queue,
        message="Waiting for a worker",
    )
    add_targets(job, targets)
    if requested_by is not None:
        # Scheduled refreshes have no requester and would flood the list; the Jobs page has them.
        audit.record(
            AuditAction.JOB_START,
            actor=requested_by,
            target=job,
            target_type=targets[0].role if targets else "job",
            target_label=job.target_label or job.title,
            details={"job": job.pk, "kind": job.kind, "title": job.title},
        )
    # The row is the outbox: if the broker is down now, the sweep sends the job later.
    transaction.on_commit(partial(outbox.send, job.pk, queue))
    return job


def enqueue_on(
    kind: str,
    role: str,
    obj: Model,
    *,
    title: str,
    user: AbstractBaseUser | AnonymousUser | None = None,
    params: dict[str, Any] | None = None,
    label: str = "",
    lock: bool = True,
    also: Sequence[Target] = (),
    queue: str | None = None,
) -> Job:
    """Queue a job on one object of a host: the shape of most jobs a page asks for.

    The object is the first target, locked under its own `lock_key` as `role` (`lock=False` for
    a job that only reads); its host (`obj.host`) is named, not locked, so the job shows on the
    host's page and reaches it while jobs on other objects of that host run side by side. `also`
    adds targets after these. The params carry `<role>_id` (the object's pk) besides `params`.
    """
    first = Target.locking(role, obj, label=label) if lock else Target(role, obj, label=label)
    return enqueue(
        kind,
        title=title,
        targets=[first, Target("host", obj.host), *also],  # type: ignore[attr-defined]
        user=user,
        params={f"{role}_id": obj.pk, **(params or {})},
        queue=queue,
    )


def enqueue_on_host(
    kind: str,
    host: Model,
    *,
    key: str,
    title: str,
    user: AbstractBaseUser | AnonymousUser | None = None,
    params: dict[str, Any] | None = None,
    label: str = "",
) -> Job:
    """Queue a job on a host under a lock `key` of its own (one scan, one import of a name, one
    PCI change at a time on that host), shown as `label`; the host's other jobs are not held."""
    return enqueue(
        kind,
        title=title,
        targets=[Target("host", host, lock=key, label=label)],
        user=user,
        params=params,
    )


def add_targets(job: Job, targets: Sequence[Target]) -> None:
    """Record targets of a job (an object a running job made can be added, without a lock)."""
    JobTarget.objects.bulk_create(
        [
            JobTarget(
                job=job,
                role=t.role,
                content_type=ContentType.objects.get_for_model(t.obj) if t.obj else None,
                object_id=t.obj.pk if t.obj is not None else None,
                label=t.text,
                lock_key=t.lock,
            )
            for t in targets
        ]
    )


def request_cancel(job: Job) -> bool:
    """Ask a job to stop. A queued job is cancelled at once; a running one at its next check,
    or at once if its worker is gone (its lease lapsed)."""
    job.refresh_from_db()
    if job.status == JobStatus.RUNNING and lapsed(job):
        stopped = Job.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=job.heartbeat_at
        ).update(
            status=JobStatus.CANCELLED,
            cancel_requested=True,
            message="Cancelled: its worker had stopped",
            finished_at=timezone.now(),
        )
        if stopped:
            return True
    updated = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED,
        cancel_requested=True,
        message="Cancelled before it started",
        finished_at=timezone.now(),
    )
    if updated:
        return True
    return bool(
        Job.objects.filter(pk=job.pk, status__in=ACTIVE_JOB_STATUSES).update(cancel_requested=True)
    )
