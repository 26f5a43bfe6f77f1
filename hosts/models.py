"""A Dom0 the panel manages."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from dom0.commands import PathPolicy
from hosts.choices import HostStatus, MigrationTransfer, Transport


class Host(models.Model):
    """A FreeBSD Dom0: how to reach it, where things live on it, and what we last saw there."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=64, unique=True)
    address = models.CharField(
        max_length=255, blank=True, help_text="Hostname or IP the panel (and VNC users) reach."
    )
    transport = models.CharField(max_length=8, choices=Transport.choices, default=Transport.SSH)
    ssh_user = models.CharField(max_length=32, default="root")
    ssh_port = models.PositiveIntegerField(default=22)
    host_key = models.TextField(blank=True, help_text="Pinned SSH host key (type and base64).")
    host_key_fingerprint = models.CharField(max_length=80, blank=True)
    pending_host_key = models.TextField(blank=True)
    pending_host_key_fingerprint = models.CharField(max_length=80, blank=True)

    volumes_parent = models.CharField(
        max_length=200, default="zroot/xen", help_text="ZFS dataset under which volumes are made."
    )
    iso_dir = models.CharField(max_length=200, default="/var/lib/xenpanel/isos")
    config_dir = models.CharField(max_length=200, default="/usr/local/etc/xen")
    default_bridge = models.CharField(max_length=16, default="bridge0")
    vnc_listen = models.CharField(max_length=64, default="127.0.0.1")
    queue = models.CharField(
        max_length=64,
        blank=True,
        help_text="Celery queue for this host's jobs; empty uses the central pool.",
    )
    # Where the simulator lives, for simulated hosts (kind "sim", or local/ssh through its shims).
    sim_dir = models.CharField(max_length=500, blank=True)
    tool_dir = models.CharField(max_length=500, blank=True)
    fs_root = models.CharField(max_length=500, blank=True)

    status = models.CharField(max_length=12, choices=HostStatus.choices, default=HostStatus.UNKNOWN)
    status_reason = models.TextField(blank=True)
    facts = models.JSONField(default=dict, blank=True)
    readiness = models.JSONField(default=list, blank=True)
    # A copy of the capacity figures in `facts`, in their own columns: `facts` holds the host's
    # whole `xl list`, and pages that list many hosts (the dashboard) should read a few numbers,
    # not decode every host's domain list. Written with `facts` (see `capacity_values`).
    xen_version = models.CharField(max_length=40, blank=True)
    nr_cpus = models.PositiveIntegerField(null=True, blank=True)
    total_memory_mib = models.PositiveBigIntegerField(null=True, blank=True)
    free_memory_mib = models.PositiveBigIntegerField(null=True, blank=True)
    dom0_memory_mib = models.PositiveBigIntegerField(null=True, blank=True)
    dom0_vcpus = models.PositiveIntegerField(null=True, blank=True)
    domu_memory_mib = models.PositiveBigIntegerField(null=True, blank=True)
    domu_vcpus = models.PositiveIntegerField(null=True, blank=True)
    domu_count = models.PositiveIntegerField(null=True, blank=True)
    readiness_passed = models.PositiveSmallIntegerField(null=True, blank=True)
    readiness_total = models.PositiveSmallIntegerField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Moving domUs (issue 14).
    shared_storage = models.CharField(
        max_length=64,
        blank=True,
        help_text="Hosts with the same label reach the same disks at the same paths (shared "
        "storage): their domUs can live-migrate between them without copying disks.",
    )
    # In maintenance: no new domUs are placed here and autostart is suspended, until an admin
    # ends it (Evacuate moves the running domUs away first).
    maintenance = models.BooleanField(default=False)
    maintenance_since = models.DateTimeField(null=True, blank=True)
    maintenance_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # How disk bytes leave this host in a storage migration, and the public half of the
    # migration key the panel made on it (written by the "set up migration access" job; the
    # private half never leaves the Dom0).
    migration_transfer = models.CharField(
        max_length=8, choices=MigrationTransfer.choices, default=MigrationTransfer.RELAY
    )
    migration_public_key = models.TextField(blank=True)
    # Issue 18: a domU's VNC may listen on a non-loopback address of this Dom0 only when an
    # admin allows it here (the console is then reachable by anyone who reaches that address).
    vnc_exposure_allowed = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, keeping the capacity and readiness columns in step with `facts`/`readiness`."""
        deferred = self.get_deferred_fields()
        copied: dict[str, Any] = {}
        if "facts" not in deferred:
            copied.update(self.capacity_values(self.facts or {}))
        if "readiness" not in deferred:
            copied.update(self.readiness_values(self.readiness or []))
        for name, value in copied.items():
            setattr(self, name, value)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"facts", "readiness"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, *copied}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("hosts:detail", args=[self.code])

    @property
    def lock_key(self) -> str:
        """Return the key a job locks to have this host to itself (refresh, scans)."""
        return f"host:{self.pk}"

    @property
    def job_queue(self) -> str:
        """Return the Celery queue of this host's jobs ('' for the central pool)."""
        return self.queue

    def path_policy(self) -> PathPolicy:
        """Return the directories commands may touch on this host (its config and ISO dirs)."""
        return PathPolicy(config_dir=self.config_dir, iso_dir=self.iso_dir)

    @staticmethod
    def capacity_values(facts: dict[str, Any]) -> dict[str, Any]:
        """Return the capacity columns for `facts`, to save alongside them in one update."""
        values: dict[str, Any] = {"xen_version": str(facts.get("xen_version") or "")[:40]}
        for name in CAPACITY_NUMBERS:
            values[name] = _count(facts.get(name))
        return values

    @staticmethod
    def readiness_values(items: list[dict[str, Any]]) -> dict[str, Any]:
        """Return the readiness summary columns for a checklist (as `readiness` stores it)."""
        if not items:
            return {"readiness_passed": None, "readiness_total": None}  # never checked
        passed = sum(1 for item in items if item.get("status") == "pass")
        return {"readiness_passed": passed, "readiness_total": len(items)}


#: The numeric capacity columns, named as the keys of `Host.facts` they copy.
CAPACITY_NUMBERS = (
    "nr_cpus",
    "total_memory_mib",
    "free_memory_mib",
    "dom0_memory_mib",
    "dom0_vcpus",
    "domu_memory_mib",
    "domu_vcpus",
    "domu_count",
)


#: Every column `capacity_values` fills.
CAPACITY_FIELDS = ("xen_version", *CAPACITY_NUMBERS)


def _count(value: Any) -> int | None:
    """Return a non-negative whole number, or None for a missing or unreadable figure."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None
