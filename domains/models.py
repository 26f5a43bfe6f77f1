"""DomUs: what the panel wants each guest to be, what it last saw, and every config it wrote."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.models import Owned


class DomainState(models.TextChoices):
    """A domU's observed state, from the `xl list` state letters (facts §1.2)."""

    RUNNING = "running", "running"
    # xl's -b---- (blocked): a running domU waiting for work; the pages say "running" (issue 17).
    BLOCKED = "blocked", "running"
    PAUSED = "paused", "paused"
    SHUTDOWN = "shutdown", "shut down"
    CRASHED = "crashed", "crashed"
    DYING = "dying", "dying"
    NOT_RUNNING = "not_running", "not running"
    UNKNOWN = "unknown", "unknown"


class GuestType(models.TextChoices):
    """The virtualisation mode, xl.cfg's `type` (docs/guest-types.md says which FreeBSD runs)."""

    HVM = "hvm", "HVM (any OS, emulated firmware)"
    PVH = "pvh", "PVH (a Xen-aware kernel or PVH boot loader)"


#: States in which the domain exists in the hypervisor (it shows in `xl list`).
PRESENT_STATES = (
    DomainState.RUNNING,
    DomainState.BLOCKED,
    DomainState.PAUSED,
    DomainState.SHUTDOWN,
    DomainState.CRASHED,
    DomainState.DYING,
)


def domain_lock_key(pk: int) -> str:
    """The key jobs on the domU `pk` hold (and alerts name it by)."""
    return f"domain:{pk}"


class Domain(Owned):
    """A domU on one host: its desired settings, its config history, and its last observed state.

    The config file text (the latest `DomainConfigVersion`) is the record of the domU, as on a
    FreeBSD Dom0 the config file is the only record; the fields below summarise it for pages and
    capacity checks and are kept in step whenever a version is written.
    """

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=64)
    memory_mb = models.PositiveIntegerField()
    vcpus = models.PositiveSmallIntegerField(default=1)
    volume = models.ForeignKey(
        "storage.Volume", null=True, blank=True, on_delete=models.SET_NULL, related_name="domains"
    )
    iso = models.ForeignKey(
        "storage.IsoImage", null=True, blank=True, on_delete=models.SET_NULL, related_name="domains"
    )
    bridge = models.CharField(max_length=16, blank=True)
    vnc_enabled = models.BooleanField(default=True)
    vnc_listen = models.CharField(max_length=64, default="127.0.0.1")
    # Allocated by the panel per host and written as `vncdisplay` with `vncunused = 0`, so the
    # port (5900 + display) is the same after every start.
    vnc_display = models.PositiveSmallIntegerField(null=True, blank=True)
    vnc_password = models.CharField(max_length=8, blank=True)
    serial_pty = models.BooleanField(default=True)
    tablet = models.BooleanField(default=True)
    autostart = models.BooleanField(default=False)
    autostart_order = models.PositiveSmallIntegerField(default=10)
    autostart_delay = models.PositiveSmallIntegerField(
        default=0, help_text="Seconds to wait after starting this domU before the next one."
    )
    imported = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # Day 2 (summarised from the config like the fields above, except description and tags).
    guest_type = models.CharField(max_length=3, choices=GuestType.choices, default=GuestType.HVM)
    # PVH: the kernel or PVH boot loader (e.g. grub's pvh image) on the host, `kernel = "..."`.
    kernel = models.CharField(max_length=255, blank=True)
    # None: xl's default (maxmem = memory, maxvcpus = vcpus): no room to grow while running.
    maxmem_mb = models.PositiveIntegerField(null=True, blank=True)
    maxvcpus = models.PositiveSmallIntegerField(null=True, blank=True)
    # Disks after the first (`volume` is the boot disk, hda/xvda).
    extra_volumes = models.ManyToManyField(
        "storage.Volume", blank=True, related_name="attached_domains"
    )
    # PCI devices in the config's `pci = [...]`, as BDF strings ("0000:03:00.0").
    pci = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True, max_length=2000)
    tags = models.JSONField(default=list, blank=True)
    # The config file changed while the domU ran and not everything was applied live: the
    # domU runs with older settings until it is next started from its file.
    restart_pending = models.BooleanField(default=False)
    template = models.ForeignKey(
        "domains.DomainTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="clones",
    )
    # Scheduled snapshots (beat): how many hourly and daily ones to keep; 0 = none taken.
    snapshot_keep_hourly = models.PositiveSmallIntegerField(default=0)
    snapshot_keep_daily = models.PositiveSmallIntegerField(default=0)

    # Observed (written by workers only).
    state = models.CharField(
        max_length=12, choices=DomainState.choices, default=DomainState.UNKNOWN
    )
    state_letters = models.CharField(max_length=6, blank=True)
    domid = models.PositiveIntegerField(null=True, blank=True)
    cpu_seconds = models.FloatField(null=True, blank=True)
    mem_mib = models.PositiveIntegerField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Desired: set by start/create, cleared by shutdown/destroy; autostart looks at it.
    should_run = models.BooleanField(default=False)

    # Runtime attributes. A page sets these on the rows it shows, per request; they are never
    # stored. Bare annotations make no class attribute (Django sees no field; reading one that
    # was not set still raises AttributeError): they only tell the type checker what is set.
    #: A create that was cancelled before it made anything: the list offers Delete, not Start.
    never_made: bool
    #: The domU list (domains/listing.py): the running job's number and code, if any, and the
    #: row's fingerprint (a hash of what the row shows; its poll sends changed rows only).
    busy_job: int | None
    busy_code: str | None
    fingerprint: str

    class Meta:
        ordering = ["host__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["host", "name"], name="domain_unique_name"),
            models.UniqueConstraint(fields=["host", "vnc_display"], name="domain_unique_vnc"),
        ]
        # The dashboard counts domUs per host and state on every load: a covering index.
        indexes = [models.Index(fields=["host", "state"], name="domain_host_state")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("domains:detail", args=[self.code])

    @property
    def lock_key(self) -> str:
        return domain_lock_key(self.pk)

    @property
    def is_present(self) -> bool:
        return self.state in PRESENT_STATES

    @property
    def vnc_port(self) -> int | None:
        return None if self.vnc_display is None else 5900 + self.vnc_display


class DomainConfigVersion(models.Model):
    """One version of a domU's xl config file, exactly as the panel wrote (or found) it."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "number"], name="domain_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.domain} v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("domains:history", args=[self.domain.code]) + f"?b={self.number}"


class DomainNic(models.Model):
    """One `vif` of a domU: its MAC, chosen once in Xen's OUI and unique across the panel."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="nics")
    position = models.PositiveSmallIntegerField(help_text="Index in `vif = [...]` (xl's devid).")
    mac = models.CharField(max_length=17, unique=True)
    bridge = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["domain", "position"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "position"], name="domain_nic_position")
        ]

    def __str__(self) -> str:
        return f"{self.domain} nic{self.position} {self.mac}"

    def get_absolute_url(self) -> str:
        return self.domain.get_absolute_url()


class MadeState(models.TextChoices):
    """Where a snapshot or template is in its life: made by a job, ready, or failed."""

    CREATING = "creating", "Creating"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    DELETING = "deleting", "Deleting"


class SnapshotMode(models.TextChoices):
    RUNNING = "running", "Running (crash-consistent, like pulling the plug)"
    PAUSED = "paused", "Paused for the snapshot (consistent across disks, a second's pause)"
    STOPPED = "stopped", "Shut down (clean: the guest flushed everything)"


class DomainSnapshot(models.Model):
    """One atomic `zfs snapshot` of all of a domU's volumes, with its config of that moment."""

    State = MadeState

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="snapshots")
    # The part after '@', the same on every volume.
    name = models.CharField(max_length=64)
    mode = models.CharField(max_length=8, choices=SnapshotMode.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.CREATING)
    # "" for one taken by hand, else "hourly" or "daily" (retention counts these).
    schedule = models.CharField(max_length=8, blank=True)
    config_text = models.TextField(blank=True)
    config_number = models.PositiveIntegerField(null=True, blank=True)
    datasets = models.JSONField(default=list, blank=True)
    used_bytes = models.BigIntegerField(null=True, blank=True)
    referenced_bytes = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    # Runtime attributes. A page sets these on the rows it shows, per request; they are never
    # stored. Bare annotations make no class attribute (Django sees no field; reading one that
    # was not set still raises AttributeError): they only tell the type checker what is set.
    #: A queued or running job works on it (`domains.snapshots.context.busy_snapshots`).
    busy: bool

    class Meta:
        ordering = ["domain", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "name"], name="domain_snapshot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.domain}@{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("domains:snapshots", args=[self.domain.code])

    @property
    def lock_key(self) -> str:
        return f"snapshot:{self.pk}"


class DomainTemplate(Owned):
    """A stopped domU turned read-only: its config and a snapshot of its volumes to clone."""

    State = MadeState

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    host = models.ForeignKey(
        "hosts.Host", on_delete=models.CASCADE, related_name="domain_templates"
    )
    name = models.CharField(max_length=64)
    description = models.TextField(blank=True, max_length=2000)
    state = models.CharField(max_length=8, choices=State.choices, default=State.CREATING)
    # The source domU's config when it became a template (clones get a new name, MACs, disks).
    config_text = models.TextField()
    # The snapshot name on every template volume ("<dataset>@<snapshot>" is what clones use).
    snapshot = models.CharField(max_length=64, default="template")
    volumes = models.ManyToManyField("storage.Volume", blank=True, related_name="templates")
    guest_type = models.CharField(max_length=3, choices=GuestType.choices, default=GuestType.HVM)
    memory_mb = models.PositiveIntegerField()
    vcpus = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["host__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["host", "name"], name="domain_template_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("domains:template", args=[self.code])

    @property
    def lock_key(self) -> str:
        return f"template:{self.pk}"
