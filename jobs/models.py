"""Jobs: every change on (and every read of) a host, with its steps — also the audit record.

A job names its *targets*: the objects it acts on (a host, a volume, an ISO, a domU…), each with
a role ("host", "domain", "source", "destination"…) and, when the job must have it to itself, a
lock key. Targets point at their objects through a generic relation, so this app knows no model
of the apps above it; a job shows on every target's page, and who may see it follows its targets.
"""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse
from django.utils import timezone

from jobs.choices import ACTIVE_JOB_STATUSES, JobStatus, StepStatus


class JobQuerySet(models.QuerySet["Job"]):
    def on(self, obj: models.Model) -> JobQuerySet:
        """Return the jobs that have `obj` among their targets."""
        ct = ContentType.objects.get_for_model(obj)
        return self.filter(
            pk__in=JobTarget.objects.filter(content_type=ct, object_id=obj.pk).values("job_id")
        )

    def on_any(self, objects: Iterable[models.Model]) -> JobQuerySet:
        """Return the jobs that have any of `objects` (all of one model) among their targets."""
        objects = list(objects)
        if not objects:
            return self.none()
        ct = ContentType.objects.get_for_model(objects[0])
        pks = [o.pk for o in objects]
        return self.filter(
            pk__in=JobTarget.objects.filter(content_type=ct, object_id__in=pks).values("job_id")
        )

    def holding(self, lock_keys: Iterable[str]) -> JobQuerySet:
        """Return the jobs that lock any of these keys."""
        return self.filter(
            pk__in=JobTarget.objects.filter(lock_key__in=list(lock_keys)).values("job_id")
        )

    def active(self) -> JobQuerySet:
        return self.filter(status__in=ACTIVE_JOB_STATUSES)


class Job(models.Model):
    """One unit of work a worker runs step by step; the DB row is the truth about it."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    #: What the lists show in their "Target" column (the first target's label).
    target_label = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)

    status = models.CharField(
        max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempt = models.PositiveSmallIntegerField(default=0)
    queue = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: When the panel last handed the job to the broker (None: not yet, the sweep sends it).
    sent_at = models.DateTimeField(null=True, blank=True)
    #: When a worker last showed it has the job: renewed every few seconds while it runs (the
    #: lease), and at every try while it waits for a lock. A stale one means the worker is gone.
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("jobs:detail", args=[self.code])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_JOB_STATUSES

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()

    @property
    def lock_keys(self) -> list[str]:
        """Return the keys this job locks, sorted (every worker takes them in the same order)."""
        return sorted({t.lock_key for t in self.targets.all() if t.lock_key})


class JobTarget(models.Model):
    """One object a job acts on, in a role, and the lock it holds on it (if any)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="targets")
    role = models.CharField(max_length=32)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    obj = GenericForeignKey("content_type", "object_id")
    #: Kept as text: the object may be gone, and the page of a finished job still names it.
    label = models.CharField(max_length=200, blank=True)
    lock_key = models.CharField(max_length=200, blank=True, db_index=True)

    class Meta:
        ordering = ["job", "id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        constraints = [
            models.UniqueConstraint(fields=["job", "role"], name="jobtarget_unique_role")
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.label}"

    def get_absolute_url(self) -> str:
        return self.job.get_absolute_url()

    @property
    def url(self) -> str:
        """Return the page of the object, or '' when it is gone or has none."""
        obj = self.obj if self.content_type_id else None
        getter = getattr(obj, "get_absolute_url", None)
        return getter() if getter else ""


class JobStep(models.Model):
    """One command (or file operation) a job ran on a host, as it ran."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="steps")
    seq = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=200)
    argv = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=StepStatus.choices, default=StepStatus.RUNNING)
    rc = models.IntegerField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    output = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="jobstep_unique_seq")]

    def __str__(self) -> str:
        return f"{self.job_id}.{self.seq} {self.label}"

    def get_absolute_url(self) -> str:
        return self.job.get_absolute_url()

    @property
    def command(self) -> str:
        """The argv as one line a person can read or paste (quoted like a POSIX shell would)."""
        return shlex.join(self.argv) if self.argv else ""
