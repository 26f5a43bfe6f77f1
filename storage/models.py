"""What lives on a host's storage: ZFS volumes (domU disks) and installer ISO images."""

from __future__ import annotations

import posixpath
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.models import Owned
from dom0.units import human_bytes

if TYPE_CHECKING:
    from jobs.models import Job


class Volume(Owned):
    """A ZFS volume on a host, used as a domU's disk."""

    class State(models.TextChoices):
        CREATING = "creating", "Creating"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        DESTROYING = "destroying", "Destroying"
        MISSING = "missing", "Missing on host"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="volumes")
    dataset = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    used_bytes = models.BigIntegerField(null=True, blank=True)
    sparse = models.BooleanField(default=False)
    state = models.CharField(max_length=12, choices=State.choices, default=State.CREATING)
    imported = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # ZFS's `origin` of a clone ("<dataset>@<snapshot>"); "" for a volume of its own (or once
    # `zfs promote` cut the dependency).
    origin = models.CharField(max_length=320, blank=True)
    # Template volumes are `readonly=on`: nothing may change what clones are made from.
    readonly = models.BooleanField(default=False)
    # The source copy a storage migration left behind: its domU now runs from a copy on another
    # host; it is destroyed when the user confirms (until then it counts against the quota).
    superseded = models.BooleanField(default=False)

    # Runtime attributes. A page sets these on the rows it shows, per request; they are never
    # stored. Bare annotations make no class attribute (Django sees no field; reading one that
    # was not set still raises AttributeError): they only tell the type checker what is set.
    #: Its active job, else its latest one (`storage.panel.attach_jobs`).
    job: Job | None
    #: What the host has of a volume the panel did not finish making (`panel.volume_on_host`).
    on_host: str | None

    class Meta:
        ordering = ["host__name", "dataset"]
        constraints = [
            models.UniqueConstraint(fields=["host", "dataset"], name="volume_unique_dataset")
        ]

    def __str__(self) -> str:
        return self.dataset

    def get_absolute_url(self) -> str:
        return reverse("storage:volume", args=[self.code])

    @property
    def name(self) -> str:
        return self.dataset.rsplit("/", 1)[-1]

    @property
    def size_human(self) -> str:
        return human_bytes(self.size_bytes)

    @property
    def used_human(self) -> str:
        return human_bytes(self.used_bytes)

    @property
    def device_path(self) -> str:
        """Always derived from the dataset, never typed (the handbook's tank/zroot slip)."""
        return f"/dev/zvol/{self.dataset}"

    @property
    def lock_key(self) -> str:
        return f"volume:{self.host_id}:{self.dataset}"


class Pool(models.Model):
    """A ZFS pool of a host as `zpool list` last showed it (read by host refreshes and scans)."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="pools")
    name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    allocated_bytes = models.BigIntegerField(null=True, blank=True)
    free_bytes = models.BigIntegerField(null=True, blank=True)
    health = models.CharField(max_length=16, blank=True)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["host__name", "name"]
        constraints = [models.UniqueConstraint(fields=["host", "name"], name="pool_unique_name")]

    def __str__(self) -> str:
        return f"{self.host} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("storage:index") + f"?host={self.host.code}"

    @property
    def size_human(self) -> str:
        return human_bytes(self.size_bytes)

    @property
    def allocated_human(self) -> str:
        return human_bytes(self.allocated_bytes)

    @property
    def free_human(self) -> str:
        return human_bytes(self.free_bytes)

    @property
    def used_percent(self) -> int | None:
        if not self.size_bytes or self.allocated_bytes is None:
            return None
        return min(100, round(100 * self.allocated_bytes / self.size_bytes))

    @property
    def healthy(self) -> bool:
        return self.health == "ONLINE"


class IsoImage(Owned):
    """An installer image in a host's ISO directory."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        FETCHING = "fetching", "Fetching"
        UPLOADING = "uploading", "Uploading"
        TRANSFERRING = "transferring", "Copying to host"
        VERIFYING = "verifying", "Verifying"
        READY = "ready", "Ready"
        BAD = "bad", "Checksum mismatch"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Source(models.TextChoices):
        URL = "url", "Fetched from URL"
        UPLOAD = "upload", "Uploaded"
        FOUND = "found", "Found on host"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="isos")
    file_name = models.CharField(max_length=200)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    expected_algo = models.CharField(max_length=8, blank=True)
    expected_digest = models.CharField(max_length=128, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    source_url = models.CharField(max_length=2000, blank=True, help_text="Credentials removed.")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Runtime attributes. A page sets these on the rows it shows, per request; they are never
    # stored. Bare annotations make no class attribute (Django sees no field; reading one that
    # was not set still raises AttributeError): they only tell the type checker what is set.
    #: Its active job, else its latest one (`storage.panel.attach_jobs`).
    job: Job | None
    #: The upload session still receiving its bytes, if any (`storage.panel.attach_uploads`).
    receiving: UploadSession | None
    #: How Remove would get rid of it, or None if it may not (`storage.panel.iso_removal`).
    removal: str | None

    class Meta:
        ordering = ["host__name", "file_name"]
        constraints = [
            models.UniqueConstraint(fields=["host", "file_name"], name="iso_unique_file")
        ]

    def __str__(self) -> str:
        return self.file_name

    def get_absolute_url(self) -> str:
        return reverse("isos:detail", args=[self.code])

    @property
    def path(self) -> str:
        return posixpath.join(self.host.iso_dir, self.file_name)

    @property
    def size_human(self) -> str:
        return human_bytes(self.size_bytes)

    @property
    def is_busy(self) -> bool:
        """True while the image is on its way to the host (not yet usable or deletable)."""
        busy = (self.State.PENDING, self.State.FETCHING, self.State.UPLOADING)
        return self.state in busy or self.state in (self.State.TRANSFERRING, self.State.VERIFYING)

    @property
    def lock_key(self) -> str:
        return f"iso:{self.host_id}:{self.file_name}"


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
        "storage.IsoImage", null=True, on_delete=models.SET_NULL, related_name="upload"
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
