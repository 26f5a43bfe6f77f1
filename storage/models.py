"""What lives on a host's storage: ZFS volumes (domU disks) and installer ISO images."""

from __future__ import annotations

import posixpath
import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse


def human_bytes(nbytes: int | None) -> str:
    """Return a size the way ZFS prints it, in powers of 1024: 20G, 1.5T, 512M."""
    if nbytes is None:
        return "—"
    value = float(nbytes)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if value < 1024 or unit == "P":
            text = f"{value:.1f}".rstrip("0").rstrip(".") if unit != "B" else str(int(value))
            return f"{text}{unit}" if unit != "B" else f"{text} B"
        value /= 1024
    return str(nbytes)  # pragma: no cover


class Owned(models.Model):
    """Every domU, volume and ISO has an owner and optionally a team (a group)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


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
    def target_key(self) -> str:
        return f"volume:{self.host_id}:{self.dataset}"


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
    def target_key(self) -> str:
        return f"iso:{self.host_id}:{self.file_name}"
