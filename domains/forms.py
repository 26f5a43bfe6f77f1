"""The new-domU form: every value checked before anything runs, each problem on its field."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from accounts import access, quotas
from accounts.widgets import style_field
from dom0 import validate
from dom0.errors import ValidationError as Dom0ValidationError
from domains import cfg, macs
from domains.migration.evacuation import maintenance_refusal
from domains.migration.placement import suggest_host
from domains.models import Domain, DomainNic, GuestType
from hosts import vnc_exposure
from hosts.models import Host
from jobs.choices import JobStatus
from jobs.models import Job
from storage.forms import SizeField
from storage.models import IsoImage, Pool, Volume

GIB = 2**30
NEW, EXISTING = "new", "existing"
#: The largest new volume, in GiB (dom0.validate.MAX_SIZE, 1 PiB).
MAX_DISK_GIB = validate.MAX_SIZE // GIB
#: Domain.autostart_order is a PositiveSmallIntegerField: 0 to 32767 on every database.
MAX_AUTOSTART_ORDER = 32767
MAX_AUTOSTART_DELAY = 3600


def host_by_code(value: object) -> Host | None:
    """Return the host whose code is `value`, or None for anything else (not a UUID too)."""
    try:
        code = uuid.UUID(str(value))
    except ValueError:
        return None
    return Host.objects.filter(code=code).first()


def _bounded(label: str, low: int, high: int, unit: str = "", why: str = "") -> dict[str, Any]:
    """IntegerField arguments: the bounds, and messages that name the field and the rule."""
    unit = f" {unit}" if unit else ""
    return {
        "label": label,
        "min_value": low,
        "max_value": high,
        "error_messages": {
            "invalid": "Must be a whole number.",
            "min_value": f"Must be at least {low}{unit}.",
            "max_value": f"Must be at most {high}{unit}{why}.",
        },
    }


class UsableChoiceField(forms.ModelChoiceField):
    """A choice of objects the form may use; one the user may see but not use is refused with
    the reason (`why_not(obj)`), not as an unknown choice."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visible: Any = self.queryset
        self.why_not: Any = lambda obj: ""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except forms.ValidationError:
            try:
                code = uuid.UUID(str(value))
            except ValueError:
                raise forms.ValidationError(
                    "Choose one from the list.", code="invalid_choice"
                ) from None
            obj = self.visible.filter(code=code).first()
            reason = self.why_not(obj) if obj is not None else ""
            if reason:
                raise forms.ValidationError(reason, code="unusable") from None
            raise


def _css(field: forms.Field) -> None:
    style_field(field)


def new_dataset(host: Host, name: str) -> str:
    """Return `<volumes_parent>/<name>-disk0` (or -disk1... if that one is known to exist)."""
    taken = set(Volume.objects.filter(host=host).values_list("dataset", flat=True))
    taken |= scanned_datasets(host)
    n = 0
    while f"{host.volumes_parent}/{name}-disk{n}" in taken:
        n += 1
    return f"{host.volumes_parent}/{name}-disk{n}"


def scanned_datasets(host: Host) -> set[str]:
    """Return the volumes the host's last volume scan found that the panel does not manage."""
    from storage.jobs.volumes import SCAN

    scan = (
        Job.objects.on(host)
        .filter(kind=SCAN, status=JobStatus.SUCCEEDED)
        .order_by("-finished_at")
        .first()
    )
    rows = (scan.result or {}).get("unmanaged", []) if scan else []
    return {str(r.get("dataset")) for r in rows if isinstance(r, dict)}


def host_domain_names(host: Host) -> set[str]:
    """Names in use on the host: the panel's domUs and what its last `xl list` showed."""
    names = set(Domain.objects.filter(host=host).values_list("name", flat=True))
    names |= {str(d.get("name")) for d in (host.facts or {}).get("domains", [])}
    return names


def _volume_unusable(volume: Volume) -> str:
    """Why this volume cannot be a new domU's disk ('' if it can)."""
    user = Domain.objects.filter(volume=volume).first()
    if user is not None:
        return f"{volume.dataset} is the disk of {user.name}; a volume can serve one domU."
    if volume.state != Volume.State.READY:
        return f"{volume.dataset} is not ready ({volume.get_state_display().lower()})."
    return ""


def _iso_unusable(iso: IsoImage) -> str:
    """Why this ISO image cannot be a new domU's installer ('' if it can)."""
    if iso.state != IsoImage.State.READY:
        return f"{iso.file_name} is not ready ({iso.get_state_display().lower()})."
    return ""


class DomainForm(forms.Form):
    host = forms.ModelChoiceField(
        queryset=Host.objects.all(), to_field_name="code", empty_label=None
    )
    name = forms.CharField(max_length=64, help_text="Letters, digits, '_', '.', '-'.")
    memory_mb = forms.IntegerField(
        initial=1024,
        **_bounded(
            "Memory (MiB)",
            validate.MIN_MEMORY_MB,
            validate.MAX_MEMORY_MB,
            "MiB",
            " (16 TiB, the most Xen supports on x86)",
        ),
    )
    vcpus = forms.IntegerField(
        initial=1,
        **_bounded("vCPUs", 1, validate.MAX_VCPUS, why=" (Xen's limit for an HVM domU)"),
    )
    guest_type = forms.ChoiceField(
        label="Guest type",
        choices=GuestType.choices,
        initial=GuestType.HVM,
        required=False,  # HVM when not given
        widget=forms.RadioSelect,
        help_text="FreeBSD's Xen runs HVM and PVH domUs (not PV): docs/guest-types.md.",
    )
    kernel = forms.CharField(
        label="PVH kernel or boot loader (a path on the host)",
        max_length=255,
        required=False,
        help_text=(
            "PVH boots straight into a Xen-aware kernel, with no firmware: name a PVH-capable "
            "kernel (FreeBSD 13+, Linux) or a PVH boot loader such as GRUB's pvh image "
            "(grub-i386-xen_pvh.bin), which then reads the guest's own disk. PVH has no "
            "emulated devices: no install ISO, no VNC (use xl console)."
        ),
    )
    # Chosen when the page is shown, so the preview shows the MAC the domU keeps.
    mac = forms.CharField(max_length=17, required=False, widget=forms.HiddenInput)
    disk = forms.ChoiceField(
        choices=[(NEW, "A new volume"), (EXISTING, "An existing volume")],
        initial=NEW,
        widget=forms.RadioSelect,
    )
    # Checked in clean(), and only for a new volume: the size of an existing one is not asked.
    # Cleaned to bytes (dom0.sizes): a bare number is GiB, as labelled; `1536M` works too.
    disk_gib = SizeField(label="Size (GiB)", initial=20, required=False, minimum=GIB)
    volume = UsableChoiceField(
        queryset=Volume.objects.none(),
        to_field_name="code",
        required=False,
        empty_label="— choose a free volume —",
    )
    iso = UsableChoiceField(
        label="Install ISO",
        queryset=IsoImage.objects.none(),
        to_field_name="code",
        required=False,
        empty_label="— none —",
    )
    bridge = forms.CharField(max_length=15)
    vnc_enabled = forms.BooleanField(label="VNC console", required=False, initial=True)
    vnc_listen = forms.CharField(label="VNC listen address", max_length=64)
    vnc_password = forms.CharField(
        label="VNC password", max_length=8, required=False, help_text="Generated; up to 8."
    )
    serial_pty = forms.BooleanField(label="Serial console (pty)", required=False, initial=True)
    tablet = forms.BooleanField(label="Tablet pointer", required=False, initial=True)
    autostart = forms.BooleanField(label="Start after a Dom0 reboot", required=False, initial=False)
    autostart_order = forms.IntegerField(
        initial=10, **_bounded("Start order", 0, MAX_AUTOSTART_ORDER)
    )
    autostart_delay = forms.IntegerField(
        initial=0, **_bounded("Delay after (s)", 0, MAX_AUTOSTART_DELAY, "seconds")
    )

    def __init__(self, *args: Any, user: Any, host: Host | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.suggested = self._suggest()
        # Not `self.host`: that name is the form's `host` field (a template's `form.host` is
        # its BoundField); this is the Host the page is about.
        self.target_host = host or self._chosen_host()
        self.settings: cfg.Settings | None = None
        self.dataset = ""
        for field in self.fields.values():
            _css(field)
        if self.target_host is not None:
            self.initial.setdefault("host", self.target_host.code)
            self.initial.setdefault("bridge", self.target_host.default_bridge)
            self.initial.setdefault("vnc_listen", self.target_host.vnc_listen)
            # Offered: what can serve the new domU. A visible but unusable choice (a volume in
            # use, an ISO that failed or is still arriving) is refused with the reason.
            volumes = access.owned_for_user(Volume.objects.filter(host=self.target_host), user)
            volume_field = self.fields["volume"]
            assert isinstance(volume_field, UsableChoiceField)
            volume_field.queryset = volumes.filter(state=Volume.State.READY, domains__isnull=True)
            volume_field.visible, volume_field.why_not = volumes, _volume_unusable
            isos = access.owned_for_user(
                IsoImage.objects.filter(host=self.target_host).select_related("host"), user
            )
            iso_field = self.fields["iso"]
            assert isinstance(iso_field, UsableChoiceField)
            iso_field.queryset = isos.filter(state=IsoImage.State.READY)
            iso_field.visible, iso_field.why_not = isos, _iso_unusable
        self.initial.setdefault("vnc_password", cfg.generate_password())
        self.initial.setdefault("mac", macs.allocate_for_panel(1)[0])
        self.fields["memory_mb"].help_text = self._memory_help()
        self.fields["vcpus"].help_text = self._cpu_help()
        self._show_quota()

    #: Where each quota shows what is left (and where its refusal lands).
    QUOTA_FIELDS = {
        "memory_mb": "memory_mb",
        "vcpus": "vcpus",
        "domus": "name",
        "disk_bytes": "disk_gib",
    }

    def _show_quota(self) -> None:
        for resource, name in self.QUOTA_FIELDS.items():
            text = quotas.remaining_text(self.user, resource)
            if text:
                field = self.fields[name]
                field.help_text = f"{field.help_text} · {text}" if field.help_text else text

    def _check_quota(self, data: dict[str, Any]) -> None:
        """Refuse on the right field what the user's quotas cannot hold (before anything runs)."""
        wanted = {
            "memory_mb": data.get("memory_mb") or 0,
            "vcpus": data.get("vcpus") or 0,
            "domus": 1,
            "disk_bytes": (data.get("disk_gib") or 0) if data.get("disk") == NEW else 0,
        }
        for resource, amount in wanted.items():
            try:
                quotas.check(self.user, exclude=None, **{resource: amount})
            except quotas.QuotaExceeded as exc:
                self.add_error(self.QUOTA_FIELDS[resource], str(exc))

    def _chosen_host(self) -> Host | None:
        code = self.data.get("host") if self.is_bound else self.initial.get("host")
        # Not chosen yet: the suggested host (issue 14, most free memory that fits) first.
        return (host_by_code(code) if code else None) or self.suggested or Host.objects.first()

    def _suggest(self) -> Host | None:
        def number(name: str) -> int:
            try:
                return max(0, int(str(self.data.get(name) or self.fields[name].initial)))
            except ValueError:
                return int(self.fields[name].initial)

        return suggest_host(number("memory_mb"), number("vcpus"), user=self.user)

    @property
    def facts(self) -> dict[str, Any]:
        return (self.target_host.facts or {}) if self.target_host else {}

    def _memory_help(self) -> str:
        free = self.facts.get("free_memory_mib")
        return f"{free} MiB free on the host" if free is not None else "Host not refreshed yet"

    def _cpu_help(self) -> str:
        cpus = self.facts.get("nr_cpus")
        return f"{cpus} CPUs on the host" if cpus else ""

    # --- per-field checks ------------------------------------------------------------------
    def _check(self, func: Any, *args: Any) -> Any:
        try:
            return func(*args)
        except Dom0ValidationError as exc:
            raise forms.ValidationError(exc.sentence) from exc

    def clean_host(self) -> Host:
        host = self.cleaned_data["host"]
        refusal = maintenance_refusal(host)  # issue 14: nothing new is placed on it
        if refusal:
            raise forms.ValidationError(refusal)
        return host

    def clean_name(self) -> str:
        name = self._check(validate.domain_name, self.cleaned_data["name"])
        if self.target_host is not None and name in host_domain_names(self.target_host):
            raise forms.ValidationError(
                f"A domain named {name} already exists on {self.target_host}."
            )
        return name

    def clean_memory_mb(self) -> int:
        value = self.cleaned_data["memory_mb"]
        free = self.facts.get("free_memory_mib")
        if free is not None and value > free:
            raise forms.ValidationError(
                f"Only {free} MiB of the hypervisor's memory is free on {self.target_host} "
                "(from its last refresh): give the domU less, or stop another one."
            )
        return self._check(validate.memory_mb, value, validate.MAX_MEMORY_MB, "memory")

    def clean_vcpus(self) -> int:
        cpus = self.facts.get("nr_cpus") or validate.MAX_VCPUS
        return self._check(validate.vcpus, self.cleaned_data["vcpus"], cpus, "vcpus")

    def clean_bridge(self) -> str:
        return self._check(validate.bridge_name, self.cleaned_data["bridge"], "bridge")

    def clean_vnc_listen(self) -> str:
        value = self._check(validate.vnc_listen, self.cleaned_data["vnc_listen"], "vnc_listen")
        if self.target_host is not None:  # issue 18: beyond loopback only by an admin, per host
            kept = vnc_exposure.kept_values(self.target_host)
            refused = vnc_exposure.refusal(value, user=self.user, host=self.target_host, kept=kept)
            if refused:
                raise forms.ValidationError(refused)
        return value

    def clean_vnc_password(self) -> str:
        value = self.cleaned_data.get("vnc_password") or cfg.generate_password()
        return self._check(validate.vnc_password, value, "vnc_password")

    def clean_mac(self) -> str:
        """A hidden field: a missing, malformed or taken MAC is replaced rather than refused."""
        try:
            value = validate.mac(self.cleaned_data.get("mac") or "")
        except Dom0ValidationError:
            return macs.allocate_for_panel(1)[0]
        if not value.startswith(macs.XEN_OUI) or DomainNic.objects.filter(mac=value).exists():
            return macs.allocate_for_panel(1)[0]
        return value

    def clean_guest_type(self) -> str:
        return self.cleaned_data.get("guest_type") or GuestType.HVM

    def clean_kernel(self) -> str:
        value = self.cleaned_data.get("kernel") or ""
        if self.data.get("guest_type") != GuestType.PVH:
            return ""
        if not value:
            raise forms.ValidationError(
                "A PVH domU needs a kernel or a PVH boot loader on the host: give its path."
            )
        return self._check(validate.abs_path, value, "kernel", ["/"])

    def clean_volume(self) -> Volume | None:
        # The choices hold free volumes only; this catches one taken since the page was shown.
        volume = self.cleaned_data.get("volume")
        reason = _volume_unusable(volume) if volume is not None else ""
        if reason:
            raise forms.ValidationError(reason)
        return volume

    def clean_iso(self) -> IsoImage | None:
        iso = self.cleaned_data.get("iso")
        reason = _iso_unusable(iso) if iso is not None else ""
        if reason:
            raise forms.ValidationError(reason)
        return iso

    def _check_pool_room(self, data: dict[str, Any]) -> None:
        """Refuse a new volume the host's pool cannot hold, by its free space at the last refresh.

        The pool is the one holding `host.volumes_parent`; when its free space is not known (no
        refresh yet) nothing is refused, and the job reports a full pool as before.
        """
        host = data.get("host")
        size = data.get("disk_gib")
        if host is None or not size:
            return
        pool_name = host.volumes_parent.split("/", 1)[0]
        pool = Pool.objects.filter(host=host, name=pool_name).first()
        if pool is None or pool.free_bytes is None or size <= pool.free_bytes:
            return
        self.add_error(
            "disk_gib",
            f"The pool {pool.name} has {pool.free_bytes / GIB:.1f} GiB free; a {size / GIB:g} GiB "
            "volume does not fit.",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("disk") == EXISTING and not data.get("volume") and "volume" not in self.errors:
            self.add_error("volume", "Choose a volume, or make a new one.")
        if data.get("disk") == NEW and "disk_gib" not in self.errors:
            if not data.get("disk_gib"):
                self.add_error("disk_gib", "Give the new volume's size: at least 1 GiB.")
            else:
                self._check_pool_room(data)
        if data.get("guest_type") == GuestType.PVH and data.get("iso"):
            self.add_error(
                "iso",
                "A PVH domU has no emulated cdrom: install it another way (e.g. from a clone, "
                "or create it as HVM).",
            )
        self.settings = self.build_settings(data)
        if data.get("disk") == NEW and self.dataset and "name" not in self.errors:
            try:
                validate.dataset_name(self.dataset, "name", require_child=True)
            except Dom0ValidationError as exc:
                self.add_error("name", f"Its volume {self.dataset}: {exc.rule}.")
        if not self.errors:
            self._check_quota(data)
        return data

    # --- what the config will be --------------------------------------------------------------
    def build_settings(self, data: dict[str, Any] | None = None) -> cfg.Settings | None:
        """Return the settings from whatever is valid so far (for the live preview too)."""
        if self.target_host is None:
            return None
        data = data if data is not None else getattr(self, "cleaned_data", {})
        raw = self.data if self.is_bound else {}
        self.unshown: list[str] = []

        def pick(key: str, fallback: Any) -> Any:
            # Issue 17: an invalid field shows what it holds (the problems list says why it is
            # refused), never the default; what cannot be read at all is named in `unshown`.
            value = data.get(key)
            if value in (None, "") and key in self._invalid():
                value = self._held(key)
            return value if value not in (None, "") else fallback

        name = pick("name", raw.get("name") or "") or "new-domu"
        disk_path = None
        if pick("disk", raw.get("disk", NEW)) == EXISTING:
            volume = pick("volume", None)
            disk_path = volume.device_path if volume else None
        else:
            self.dataset = new_dataset(self.target_host, name)
            disk_path = f"/dev/zvol/{self.dataset}"
        iso = pick("iso", None)
        taken = Domain.objects.filter(host=self.target_host).values_list("vnc_display", flat=True)
        vnc_on = data["vnc_enabled"] if "vnc_enabled" in data else not self.is_bound
        guest_type = pick("guest_type", raw.get("guest_type") or GuestType.HVM)
        pvh = guest_type == GuestType.PVH
        bridge = pick("bridge", self.target_host.default_bridge)
        mac = pick("mac", self.initial.get("mac")) or None
        return cfg.Settings(
            name=name,
            memory_mb=int(pick("memory_mb", 1024)),
            vcpus=int(pick("vcpus", 1)),
            disk_path=disk_path,
            iso_path=iso.path if iso else None,
            bridge=pick("bridge", self.target_host.default_bridge),
            vnc_enabled=bool(vnc_on),
            vnc_listen=pick("vnc_listen", self.target_host.vnc_listen),
            vnc_display=cfg.next_display(taken),
            vnc_password=pick("vnc_password", raw.get("vnc_password", "")),
            serial_pty=bool(data.get("serial_pty", not self.is_bound)),
            tablet=bool(data.get("tablet", not self.is_bound)),
            guest_type=cfg.PVH if pvh else cfg.HVM,
            kernel=pick("kernel", raw.get("kernel", "")) if pvh else "",
            nics=(cfg.Nic(bridge, mac),) if bridge else (),
        )

    def config_file(self) -> str:
        settings = self.settings or self.build_settings()
        if self.target_host is None or settings is None:
            return ""
        return cfg.config_path(self.target_host.config_dir, settings.name)

    def _invalid(self) -> set[str]:
        """The fields refused so far (none for an unbound form, or before cleaning)."""
        return set(self.errors) if self.is_bound else set()

    def _held(self, key: str) -> Any:
        """What an invalid field holds, read as its type without its checks (None if empty).

        `4096` MiB refused for the host's free memory is still 4096; a field whose text cannot
        be read (`abc` MiB), or a required one left empty, goes to `unshown` with its error.
        """
        field = self.fields[key]
        text = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(key))
        try:
            value = field.to_python(text)
        except forms.ValidationError:
            value = None
        if value in field.empty_values and (field.required or text not in field.empty_values):
            if key != "name":  # the placeholder name stands until one is typed
                errors = self.errors.get(key)
                label = self[key].label
                self.unshown.append(f"{label}: {errors[0] if errors else 'not readable'}")
        return value

    def preview(self) -> str:
        settings = self.settings or self.build_settings()
        if settings is None:
            return "# Add a host first."
        if self.unshown:
            return "\n".join(f"# Cannot show the config: {why}" for why in self.unshown)
        try:
            return cfg.render(cfg.build(settings))
        except ValueError as exc:
            return f"# Cannot show the config: {exc}"
