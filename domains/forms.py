"""The new-domU form: every value checked before anything runs, each problem on its field."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts import access, quotas
from dom0 import validate
from dom0.errors import ValidationError as Dom0ValidationError
from domains import cfg
from domains.models import Domain
from hosts.models import Host
from jobs.choices import JobStatus
from jobs.models import Job
from storage.models import IsoImage, Volume

GIB = 2**30
NEW, EXISTING = "new", "existing"


def _css(field: forms.Field) -> None:
    widget = field.widget
    if isinstance(widget, forms.CheckboxInput):
        widget.attrs.setdefault("class", "form-check-input")
    elif isinstance(widget, forms.RadioSelect):
        widget.attrs.setdefault("class", "form-check-input")
    elif isinstance(widget, forms.Select):
        widget.attrs.setdefault("class", "form-select form-select-sm")
    else:
        widget.attrs.setdefault("class", "form-control form-control-sm")


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


class DomainForm(forms.Form):
    host = forms.ModelChoiceField(
        queryset=Host.objects.all(), to_field_name="code", empty_label=None
    )
    name = forms.CharField(max_length=64, help_text="Letters, digits, '_', '.', '-'.")
    memory_mb = forms.IntegerField(label="Memory (MB)", initial=1024)
    vcpus = forms.IntegerField(label="vCPUs", initial=1)
    disk = forms.ChoiceField(
        choices=[(NEW, "A new volume"), (EXISTING, "An existing volume")],
        initial=NEW,
        widget=forms.RadioSelect,
    )
    disk_gib = forms.IntegerField(label="Size (GiB)", initial=20, required=False)
    volume = forms.ModelChoiceField(
        queryset=Volume.objects.none(),
        to_field_name="code",
        required=False,
        empty_label="— choose a free volume —",
    )
    iso = forms.ModelChoiceField(
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
    autostart_order = forms.IntegerField(label="Start order", initial=10, min_value=0)
    autostart_delay = forms.IntegerField(
        label="Delay after (s)", initial=0, min_value=0, max_value=3600
    )

    def __init__(self, *args: Any, user: Any, host: Host | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.host = host or self._chosen_host()
        self.settings: cfg.Settings | None = None
        self.dataset = ""
        for field in self.fields.values():
            _css(field)
        if self.host is not None:
            self.initial.setdefault("host", self.host.code)
            self.initial.setdefault("bridge", self.host.default_bridge)
            self.initial.setdefault("vnc_listen", self.host.vnc_listen)
            self.fields["volume"].queryset = access.owned_for_user(
                Volume.objects.filter(host=self.host, state=Volume.State.READY), user
            )
            self.fields["iso"].queryset = access.owned_for_user(
                IsoImage.objects.filter(host=self.host).select_related("host"), user
            )
        self.initial.setdefault("vnc_password", cfg.generate_password())
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
            "disk_bytes": (data.get("disk_gib") or 0) * GIB if data.get("disk") == NEW else 0,
        }
        for resource, amount in wanted.items():
            try:
                quotas.check(self.user, **{resource: amount})
            except quotas.QuotaExceeded as exc:
                self.add_error(self.QUOTA_FIELDS[resource], str(exc))

    def _chosen_host(self) -> Host | None:
        code = self.data.get("host") if self.is_bound else self.initial.get("host")
        host = Host.objects.filter(code=code).first() if code else None
        return host or Host.objects.first()

    @property
    def facts(self) -> dict[str, Any]:
        return (self.host.facts or {}) if self.host else {}

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

    def clean_name(self) -> str:
        name = self._check(validate.domain_name, self.cleaned_data["name"])
        if self.host is not None and name in host_domain_names(self.host):
            raise forms.ValidationError(f"A domain named {name} already exists on {self.host}.")
        return name

    def clean_memory_mb(self) -> int:
        value = self.cleaned_data["memory_mb"]
        free = self.facts.get("free_memory_mib")
        if free is not None and value > free:
            raise forms.ValidationError(
                f"Only {free} MiB of the hypervisor's memory is free on {self.host} "
                "(from its last refresh): give the domU less, or stop another one."
            )
        return self._check(validate.memory_mb, value, 10**7, "memory")

    def clean_vcpus(self) -> int:
        cpus = self.facts.get("nr_cpus") or 512
        return self._check(validate.vcpus, self.cleaned_data["vcpus"], cpus, "vcpus")

    def clean_bridge(self) -> str:
        return self._check(validate.bridge_name, self.cleaned_data["bridge"], "bridge")

    def clean_vnc_listen(self) -> str:
        return self._check(validate.vnc_listen, self.cleaned_data["vnc_listen"], "vnc_listen")

    def clean_vnc_password(self) -> str:
        value = self.cleaned_data.get("vnc_password") or cfg.generate_password()
        return self._check(validate.vnc_password, value, "vnc_password")

    def clean_volume(self) -> Volume | None:
        volume = self.cleaned_data.get("volume")
        if volume is None:
            return None
        user = Domain.objects.filter(volume=volume).first()
        if user is not None:
            raise forms.ValidationError(
                f"{volume.dataset} is the disk of {user.name}; a volume can serve one domU."
            )
        return volume

    def clean_iso(self) -> IsoImage | None:
        iso = self.cleaned_data.get("iso")
        if iso is not None and iso.state != IsoImage.State.READY:
            raise forms.ValidationError(
                f"{iso.file_name} is not ready ({iso.get_state_display().lower()})."
            )
        return iso

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("disk") == EXISTING and not data.get("volume") and "volume" not in self.errors:
            self.add_error("volume", "Choose a volume, or make a new one.")
        if data.get("disk") == NEW:
            size = data.get("disk_gib")
            if not size or size < 1:
                self.add_error("disk_gib", "Give the new volume's size: at least 1 GiB.")
        if not self.errors:
            self._check_quota(data)
        self.settings = self.build_settings(data)
        return data

    # --- what the config will be --------------------------------------------------------------
    def build_settings(self, data: dict[str, Any] | None = None) -> cfg.Settings | None:
        """Return the settings from whatever is valid so far (for the live preview too)."""
        if self.host is None:
            return None
        data = data if data is not None else getattr(self, "cleaned_data", {})
        raw = self.data if self.is_bound else {}

        def pick(key: str, fallback: Any) -> Any:
            value = data.get(key)
            return value if value not in (None, "") else fallback

        name = pick("name", raw.get("name") or "") or "new-domu"
        disk_path = None
        if pick("disk", raw.get("disk", NEW)) == EXISTING:
            volume = data.get("volume")
            disk_path = volume.device_path if volume else None
        else:
            self.dataset = new_dataset(self.host, name)
            disk_path = f"/dev/zvol/{self.dataset}"
        iso = data.get("iso")
        taken = Domain.objects.filter(host=self.host).values_list("vnc_display", flat=True)
        vnc_on = data["vnc_enabled"] if "vnc_enabled" in data else not self.is_bound
        return cfg.Settings(
            name=name,
            memory_mb=int(pick("memory_mb", 1024)),
            vcpus=int(pick("vcpus", 1)),
            disk_path=disk_path,
            iso_path=iso.path if iso else None,
            bridge=pick("bridge", self.host.default_bridge),
            vnc_enabled=bool(vnc_on),
            vnc_listen=pick("vnc_listen", self.host.vnc_listen),
            vnc_display=cfg.next_display(taken),
            vnc_password=pick("vnc_password", raw.get("vnc_password", "")),
            serial_pty=bool(data.get("serial_pty", not self.is_bound)),
            tablet=bool(data.get("tablet", not self.is_bound)),
        )

    def config_file(self) -> str:
        settings = self.settings or self.build_settings()
        if self.host is None or settings is None:
            return ""
        return cfg.config_path(self.host.config_dir, settings.name)

    def preview(self) -> str:
        settings = self.settings or self.build_settings()
        if settings is None:
            return "# Add a host first."
        try:
            return cfg.render(cfg.build(settings))
        except ValueError as exc:
            return f"# Cannot render yet: {exc}"
