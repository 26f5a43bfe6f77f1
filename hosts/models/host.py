"""A Dom0 the panel manages."""

from __future__ import annotations

import uuid

from django.db import models
from django.urls import reverse

from hosts.choices import HostStatus, Transport


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
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("hosts:detail", args=[self.code])

    @property
    def target_key(self) -> str:
        return f"host:{self.pk}"

    @property
    def readiness_summary(self) -> tuple[int, int] | None:
        """(passed, total) of the last readiness check, or None if never checked."""
        if not self.readiness:
            return None
        passed = sum(1 for item in self.readiness if item.get("status") == "pass")
        return passed, len(self.readiness)
