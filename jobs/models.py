"""Jobs: every change on (and every read of) a host, with its steps — also the audit record."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from hosts.choices import ACTIVE_JOB_STATUSES, JobStatus, StepStatus, TargetType


class Job(models.Model):
    """One unit of work a worker runs step by step; the DB row is the truth about it."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_key = models.CharField(max_length=100, db_index=True)
    target_label = models.CharField(max_length=200, blank=True)
    host = models.ForeignKey(
        "hosts.Host", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["host", "-created_at"])]

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
        end = self.finished_at
        if end is None:
            from django.utils import timezone

            end = timezone.now()
        return (end - self.started_at).total_seconds()


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
        import shlex

        return shlex.join(self.argv) if self.argv else ""
