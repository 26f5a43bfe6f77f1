"""A resumable browser upload of an ISO image, received in chunks before a job copies it."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.urls import reverse


class UploadSession(models.Model):
    """The bytes of one upload the server holds so far; the browser resumes from `received`."""

    class State(models.TextChoices):
        RECEIVING = "receiving", "Receiving"
        COMPLETE = "complete", "Received"
        FAILED = "failed", "Refused"
        ABORTED = "aborted", "Aborted"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    iso = models.OneToOneField(
        "hosts.IsoImage", null=True, on_delete=models.SET_NULL, related_name="upload"
    )
    file_name = models.CharField(max_length=200)
    size_bytes = models.BigIntegerField()
    received_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVING)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"upload {self.file_name} ({self.received_bytes}/{self.size_bytes})"

    def get_absolute_url(self) -> str:
        return reverse("isos:upload_chunk", args=[self.code])

    @property
    def local_path(self) -> Path:
        """Where the received bytes live on the panel's machine."""
        return Path(settings.UPLOAD_DIR) / f"{self.code}.part"

    @property
    def percent(self) -> int:
        if not self.size_bytes:
            return 0
        return min(100, 100 * self.received_bytes // self.size_bytes)
