"""Time series of hosts, domUs and pools, and alert rules with the alerts they raised.

Samples are wide rows (one per object per instant) at three resolutions: raw (every poll, kept a
day), 5-minute averages (a month) and hourly averages (a year) — `monitoring.retention` downsamples
and prunes, so the tables stay bounded. Rates (CPU %, bytes/s) are stored, not counters.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Resolution(models.TextChoices):
    RAW = "raw", "every sample"
    FIVE_MINUTES = "5m", "5-minute averages"
    HOUR = "1h", "hourly averages"


class HostSample(models.Model):
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="+")
    resolution = models.CharField(max_length=3, choices=Resolution.choices, default=Resolution.RAW)
    at = models.DateTimeField()
    reachable = models.BooleanField(default=True)
    memory_total_mib = models.PositiveBigIntegerField(null=True, blank=True)
    memory_free_mib = models.PositiveBigIntegerField(null=True, blank=True)
    #: Percent of the host's whole CPU capacity (all physical CPUs = 100).
    cpu_dom0_pct = models.FloatField(null=True, blank=True)
    cpu_domu_pct = models.FloatField(null=True, blank=True)
    domu_count = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["host", "resolution", "at"])]

    def __str__(self) -> str:
        return f"{self.host_id} {self.resolution} {self.at:%Y-%m-%d %H:%M}"


class DomainSample(models.Model):
    domain = models.ForeignKey("domains.Domain", on_delete=models.CASCADE, related_name="+")
    host = models.ForeignKey(
        "hosts.Host", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=3, choices=Resolution.choices, default=Resolution.RAW)
    at = models.DateTimeField()
    #: xentop's CPU(%): percent of one physical CPU (a domU with 4 busy vCPUs shows ~400).
    cpu_pct = models.FloatField(null=True, blank=True)
    memory_mib = models.PositiveBigIntegerField(null=True, blank=True)
    disk_read_bps = models.FloatField(null=True, blank=True)
    disk_write_bps = models.FloatField(null=True, blank=True)
    net_rx_bps = models.FloatField(null=True, blank=True)
    net_tx_bps = models.FloatField(null=True, blank=True)
    #: The cumulative counters this sample's rates were computed from (for the next sample).
    counters = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["domain", "resolution", "at"])]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.resolution} {self.at:%Y-%m-%d %H:%M}"


class PoolSample(models.Model):
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="+")
    pool = models.CharField(max_length=255)
    resolution = models.CharField(max_length=3, choices=Resolution.choices, default=Resolution.RAW)
    at = models.DateTimeField()
    size_bytes = models.BigIntegerField(null=True, blank=True)
    allocated_bytes = models.BigIntegerField(null=True, blank=True)
    free_bytes = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["host", "pool", "resolution", "at"])]

    def __str__(self) -> str:
        return f"{self.host_id}/{self.pool} {self.resolution} {self.at:%Y-%m-%d %H:%M}"


class AlertKind(models.TextChoices):
    POOL_FULL = "pool_full", "Pool fill at or above (%)"
    HOST_UNREACHABLE = "host_unreachable", "Host unreachable for (minutes)"
    DOMAIN_CRASHED = "domain_crashed", "DomU crashed"
    JOB_FAILED = "job_failed", "Job failed"
    QUOTA_HIGH = "quota_high", "Quota use at or above (%)"


class AlertRule(models.Model):
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    name = models.CharField(max_length=100)
    threshold = models.FloatField(null=True, blank=True)
    quiet_minutes = models.PositiveIntegerField(default=60)
    email = models.CharField(max_length=500, blank=True, help_text="Comma-separated addresses.")
    webhook_url = models.URLField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    class State(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    #: What it is about, stable across evaluations (e.g. "pool:<host code>:zroot").
    subject = models.CharField(max_length=200)
    subject_label = models.CharField(max_length=200)
    message = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.FIRING)
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    notifications = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["rule", "subject", "state"])]

    def __str__(self) -> str:
        return f"{self.rule}: {self.subject_label}"
