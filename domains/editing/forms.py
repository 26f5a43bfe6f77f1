"""The edit form: a running or stopped domU's settings, checked, and the config they make."""

from __future__ import annotations

import dataclasses
from typing import Any

from django import forms

from accounts import access, quotas
from dom0 import validate
from dom0.errors import ParseError
from dom0.errors import ValidationError as Dom0ValidationError
from dom0.xlcfg import DiskSpec, DomainConfig, VifSpec
from domains import cfg, macs, records
from domains import quotas as domain_quotas
from domains.forms import (
    GIB,
    MAX_AUTOSTART_DELAY,
    MAX_AUTOSTART_ORDER,
    UsableChoiceField,
    _bounded,
    _css,
    new_dataset,
)
from domains.models import Domain, DomainNic
from hosts import vnc_exposure
from storage.forms import SizeField
from storage.models import IsoImage, Volume

NO_CDROM, EMPTY_CDROM = "none", "empty"
EVENT_CHOICES = [("", "xl's default")] + [(a, a) for a in cfg.EVENT_ACTIONS]
BOOT_CHOICES = [("", "xl's default (hard disk)")] + list(cfg.BOOT_ORDERS.items())
MAX_TAGS = 20
_QUOTA_FIELDS = {"memory_mb": "memory_mb", "vcpus": "vcpus", "disk_bytes": "new_disk_gib"}


def free_volumes(domain: Domain, user: Any) -> Any:
    """Volumes of the domU's host this user may attach: ready, writable, used by nobody."""
    volumes = access.owned_for_user(Volume.objects.filter(host=domain.host), user)
    return volumes.filter(
        state=Volume.State.READY,
        readonly=False,
        domains__isnull=True,
        attached_domains__isnull=True,
        templates__isnull=True,
    )


def _volume_unusable(volume: Volume) -> str:
    if volume.state != Volume.State.READY:
        return f"{volume.dataset} is not ready ({volume.get_state_display().lower()})."
    if volume.readonly or volume.templates.exists():
        return f"{volume.dataset} belongs to a template: it is read-only."
    user = (
        Domain.objects.filter(volume=volume).first()
        or Domain.objects.filter(extra_volumes=volume).first()
    )
    if user is not None:
        return f"{volume.dataset} is a disk of {user.name}; a volume can serve one domU."
    return ""


class EditForm(forms.Form):
    memory_mb = forms.IntegerField(
        **_bounded("Memory (MiB)", validate.MIN_MEMORY_MB, validate.MAX_MEMORY_MB, "MiB")
    )
    maxmem_mb = forms.IntegerField(
        required=False,
        help_text="The ceiling memory can grow to while it runs (xl mem-set). Empty: = memory.",
        **_bounded("Max memory (MiB)", validate.MIN_MEMORY_MB, validate.MAX_MEMORY_MB, "MiB"),
    )
    vcpus = forms.IntegerField(**_bounded("vCPUs", 1, validate.MAX_VCPUS))
    maxvcpus = forms.IntegerField(
        required=False,
        help_text="vCPUs it may be given while it runs (xl vcpu-set). Empty: = vCPUs.",
        **_bounded("Max vCPUs", 1, validate.MAX_VCPUS),
    )
    kernel = forms.CharField(label="PVH kernel or boot loader", max_length=255, required=False)
    detach = forms.MultipleChoiceField(
        label="Detach", required=False, widget=forms.CheckboxSelectMultiple
    )
    attach_volume = UsableChoiceField(
        label="Attach an existing volume",
        queryset=Volume.objects.none(),
        to_field_name="code",
        required=False,
        empty_label="— none —",
    )
    # Cleaned to bytes (dom0.sizes): a bare number is GiB, as labelled.
    new_disk_gib = SizeField(label="Add a new volume (GiB)", required=False, minimum=GIB)
    cdrom = forms.ChoiceField(label="CD-ROM", required=False)
    boot = forms.ChoiceField(label="Boot order", choices=BOOT_CHOICES, required=False)
    on_poweroff = forms.ChoiceField(label="On power off", choices=EVENT_CHOICES, required=False)
    on_reboot = forms.ChoiceField(label="On reboot", choices=EVENT_CHOICES, required=False)
    on_crash = forms.ChoiceField(label="On crash", choices=EVENT_CHOICES, required=False)
    add_nic = forms.BooleanField(label="Add a NIC", required=False)
    add_nic_bridge = forms.CharField(label="Its bridge", max_length=15, required=False)
    add_nic_mac = forms.CharField(
        label="Its MAC", max_length=17, required=False, widget=forms.HiddenInput
    )
    vnc_enabled = forms.BooleanField(label="VNC console", required=False)
    vnc_listen = forms.CharField(label="VNC listen address", max_length=64, required=False)
    vnc_new_password = forms.BooleanField(label="New VNC password", required=False)
    autostart = forms.BooleanField(label="Start after a Dom0 reboot", required=False)
    autostart_order = forms.IntegerField(**_bounded("Start order", 0, MAX_AUTOSTART_ORDER))
    autostart_delay = forms.IntegerField(
        **_bounded("Delay after (s)", 0, MAX_AUTOSTART_DELAY, "seconds")
    )
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    tags = forms.CharField(required=False, max_length=400, help_text="Comma-separated.")

    def __init__(self, data: Any = None, *, domain: Domain, user: Any, **kwargs: Any) -> None:
        self.domain, self.user = domain, user
        self.text = records.current_text(domain)
        self.current: DomainConfig = cfg.parse(self.text)
        self.pvh = self.current.builder == cfg.PVH
        super().__init__(data, initial=self._initial(), **kwargs)
        self.dataset = ""
        self.new_password = ""
        self._add_nic_fields()
        extra = [d for d in self.current.disks if not d.cdrom][1:]
        detach = self.fields["detach"]
        assert isinstance(detach, forms.ChoiceField)
        detach.choices = [(d.vdev, f"{d.vdev}: {d.target}") for d in extra]
        volumes = access.owned_for_user(Volume.objects.filter(host=domain.host), user)
        field = self.fields["attach_volume"]
        assert isinstance(field, UsableChoiceField)
        field.queryset = free_volumes(domain, user)
        field.visible, field.why_not = volumes, _volume_unusable
        self.isos = access.owned_for_user(
            IsoImage.objects.filter(host=domain.host, state=IsoImage.State.READY), user
        ).select_related("host")
        cdrom = self.fields["cdrom"]
        assert isinstance(cdrom, forms.ChoiceField)
        cdrom.choices = [
            (NO_CDROM, "No cdrom drive"),
            (EMPTY_CDROM, "An empty cdrom drive"),
        ] + [(str(iso.code), iso.file_name) for iso in self.isos]
        if self.pvh:
            for name in ("cdrom", "boot", "vnc_enabled", "vnc_listen", "vnc_new_password"):
                del self.fields[name]
            self.fields["kernel"].required = True
        else:
            del self.fields["kernel"]
        for f in self.fields.values():
            _css(f)
        self._quota_help()

    # --- what is there now ---------------------------------------------------------------------
    def _initial(self) -> dict[str, Any]:
        c, d = self.current, self.domain
        cdrom = next((x for x in c.disks if x.cdrom), None)
        iso = next(
            (i for i in IsoImage.objects.filter(host=d.host) if cdrom and i.path == cdrom.target),
            None,
        )
        initial: dict[str, Any] = {
            "memory_mb": c.memory,
            "maxmem_mb": c.maxmem,
            "vcpus": c.vcpus,
            "maxvcpus": c.maxvcpus,
            "kernel": c.kernel or "",
            "cdrom": str(iso.code) if iso else (EMPTY_CDROM if cdrom else NO_CDROM),
            "boot": c.boot or "",
            "on_poweroff": c.on_poweroff or "",
            "on_reboot": c.on_reboot or "",
            "on_crash": c.on_crash or "",
            "vnc_enabled": bool(c.vnc),
            "vnc_listen": c.vnclisten or d.host.vnc_listen,
            "add_nic_bridge": d.host.default_bridge,
            "add_nic_mac": macs.allocate_for_panel(1)[0],
            "autostart": d.autostart,
            "autostart_order": d.autostart_order,
            "autostart_delay": d.autostart_delay,
            "description": d.description,
            "tags": ", ".join(str(t) for t in d.tags),
        }
        for i, vif in enumerate(c.vifs):
            initial[f"nic{i}_bridge"] = vif.bridge or ""
            initial[f"nic{i}_mac"] = vif.mac or ""
        return initial

    def _add_nic_fields(self) -> None:
        self.nic_rows = []
        for i, vif in enumerate(self.current.vifs):
            self.fields[f"nic{i}_bridge"] = forms.CharField(
                label=f"NIC {i} bridge", max_length=15, required=False
            )
            self.fields[f"nic{i}_mac"] = forms.CharField(
                label=f"NIC {i} MAC",
                max_length=17,
                required=False,
                help_text="" if vif.mac else "None fixed: xl picks a random one at each start.",
            )
            self.fields[f"nic{i}_remove"] = forms.BooleanField(label="Remove", required=False)
            self.nic_rows.append(i)

    def nic_fields(self) -> list[tuple[Any, Any, Any]]:
        return [
            (self[f"nic{i}_bridge"], self[f"nic{i}_mac"], self[f"nic{i}_remove"])
            for i in self.nic_rows
        ]

    def _quota_help(self) -> None:
        for resource, name in (
            ("memory_mb", "memory_mb"),
            ("vcpus", "vcpus"),
            ("disk_bytes", "new_disk_gib"),
        ):
            text = quotas.remaining_text(self.domain.owner, resource)
            if text and name in self.fields:
                field = self.fields[name]
                field.help_text = f"{field.help_text} · {text}" if field.help_text else text

    # --- checks --------------------------------------------------------------------------------
    def _check(self, func: Any, *args: Any) -> Any:
        try:
            return func(*args)
        except Dom0ValidationError as exc:
            raise forms.ValidationError(exc.sentence) from exc

    def clean_kernel(self) -> str:
        value = self.cleaned_data.get("kernel") or ""
        if not value:
            raise forms.ValidationError("A PVH domU boots a kernel or PVH boot loader on the host.")
        return self._check(validate.abs_path, value, "kernel", ["/"])

    def clean_vnc_listen(self) -> str:
        value = self.cleaned_data.get("vnc_listen") or ""
        if not self.data.get("vnc_enabled") and not value:
            return ""
        value = self._check(validate.vnc_listen, value, "vnc_listen")
        # Issue 18: beyond loopback only by an admin, on a host that allows it; keeping the
        # address the domU already has is not setting it.
        host = self.domain.host
        kept = vnc_exposure.kept_values(host, self.current.vnclisten)
        refused = vnc_exposure.refusal(value, user=self.user, host=host, kept=kept)
        if refused:
            raise forms.ValidationError(refused)
        return value

    def clean_add_nic_bridge(self) -> str:
        value = self.cleaned_data.get("add_nic_bridge") or ""
        if not self.data.get("add_nic"):
            return value
        return self._check(validate.bridge_name, value, "bridge")

    def clean_add_nic_mac(self) -> str:
        value = self.cleaned_data.get("add_nic_mac") or ""
        try:
            return validate.mac(value)
        except Dom0ValidationError:
            return macs.allocate_for_panel(1)[0]  # a hidden field: pick one rather than refuse

    def clean_tags(self) -> list[str]:
        tags = [t.strip() for t in (self.cleaned_data.get("tags") or "").split(",") if t.strip()]
        if len(tags) > MAX_TAGS or any(len(t) > 40 for t in tags):
            raise forms.ValidationError(f"At most {MAX_TAGS} tags of up to 40 characters each.")
        return list(dict.fromkeys(tags))

    def clean_attach_volume(self) -> Volume | None:
        volume = self.cleaned_data.get("attach_volume")
        reason = _volume_unusable(volume) if volume is not None else ""
        if reason:
            raise forms.ValidationError(reason)
        return volume

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self._clean_nics(data)
        memory, maxmem = data.get("memory_mb"), data.get("maxmem_mb")
        if memory and maxmem and maxmem < memory:
            self.add_error("maxmem_mb", f"Must be at least the memory ({memory} MiB), or empty.")
        vcpus, maxvcpus = data.get("vcpus"), data.get("maxvcpus")
        if vcpus and maxvcpus and maxvcpus < vcpus:
            self.add_error("maxvcpus", f"Must be at least the vCPUs ({vcpus}), or empty.")
        if not self.pvh and data.get("vnc_enabled") and not data.get("vnc_listen"):
            if "vnc_listen" not in self.errors:
                self.add_error("vnc_listen", "Give the address VNC listens on.")
        if not self.errors:
            self._check_quota(data)
        return data

    def _clean_nics(self, data: dict[str, Any]) -> None:
        """Each kept NIC: a valid bridge, and a valid MAC that no other NIC of the panel holds."""
        mine: set[str] = set()
        for i in self.nic_rows:
            if data.get(f"nic{i}_remove"):
                continue
            bridge = data.get(f"nic{i}_bridge") or ""
            try:
                data[f"nic{i}_bridge"] = validate.bridge_name(bridge, "bridge")
            except Dom0ValidationError as exc:
                self.add_error(f"nic{i}_bridge", exc.sentence)
            raw = data.get(f"nic{i}_mac") or ""
            if not raw:
                continue
            try:
                mac = validate.mac(raw)
            except Dom0ValidationError as exc:
                self.add_error(f"nic{i}_mac", exc.sentence)
                continue
            if mac in mine:
                self.add_error(f"nic{i}_mac", f"{mac} is given to two NICs of this domU.")
            holder = DomainNic.objects.filter(mac=mac).exclude(domain=self.domain).first()
            if holder is not None:
                self.add_error(f"nic{i}_mac", f"{mac} is the MAC of a NIC of {holder.domain.name}.")
            mine.add(mac)
            data[f"nic{i}_mac"] = mac
        if data.get("add_nic") and data.get("add_nic_mac") in mine:
            data["add_nic_mac"] = macs.allocate_for_panel(1, also_taken=mine)[0]

    def _check_quota(self, data: dict[str, Any]) -> None:
        """Check the increases against the owner's quotas (the rule of domains.quotas)."""
        try:
            self.check_quota(self.domain)
        except quotas.QuotaExceeded as exc:
            self.quota_error(exc)

    def quota_error(self, exc: quotas.QuotaExceeded) -> None:
        """Show a quota refusal at the field that asked for too much."""
        field = _QUOTA_FIELDS.get(exc.resource)
        self.add_error(field if field in self.fields else None, str(exc))

    def check_quota(self, domain: Domain) -> None:
        """Raise QuotaExceeded if this edit takes more than `domain`'s owner may have."""
        data = self.cleaned_data
        size = data.get("new_disk_gib") or 0
        domain_quotas.check_edit(
            domain.owner,
            domain,
            memory_mb=data["memory_mb"],
            vcpus=data["vcpus"],
            new_disk_bytes=size,
        )

    # --- the config it makes -------------------------------------------------------------------
    def _value(self, name: str, fallback: Any) -> Any:
        data = getattr(self, "cleaned_data", {})
        if name in data and name not in self.errors:
            return data[name]
        return fallback

    def new_config(self) -> DomainConfig:
        """Return the current config with this form's changes (valid ones, for the preview)."""
        c = self.current
        memory = self._value("memory_mb", c.memory) or c.memory
        vcpus = self._value("vcpus", c.vcpus) or c.vcpus
        changes: dict[str, Any] = {
            "memory": memory,
            "maxmem": self._value("maxmem_mb", c.maxmem) or None,
            "vcpus": vcpus,
            "maxvcpus": self._value("maxvcpus", c.maxvcpus) or None,
            "on_poweroff": self._value("on_poweroff", c.on_poweroff or "") or None,
            "on_reboot": self._value("on_reboot", c.on_reboot or "") or None,
            "on_crash": self._value("on_crash", c.on_crash or "") or None,
            "disks": self._disks(),
            "vifs": self._vifs(),
        }
        if self.pvh:
            changes["kernel"] = self._value("kernel", c.kernel or "") or c.kernel
        else:
            changes["boot"] = self._value("boot", c.boot or "") or None
            changes.update(self._vnc())
        return dataclasses.replace(c, **changes)

    def _disks(self) -> tuple[DiskSpec, ...]:
        c = self.current
        detach = set(self._value("detach", []))
        boot = next((d.vdev for d in c.disks if not d.cdrom), None)
        disks = [d for d in c.disks if d.cdrom or d.vdev == boot or d.vdev not in detach]
        cdrom = self._value("cdrom", None) if "cdrom" in self.fields else None
        if cdrom is not None and cdrom != "":
            disks = self._with_cdrom(disks, cdrom)
        used = {cfg.vdev_index(d.vdev) for d in c.disks} | {cfg.vdev_index(d.vdev) for d in disks}
        if not self.pvh:
            used.add(2)  # hdc: the cdrom's place, even when there is none now
        new_paths = []
        volume = self._value("attach_volume", None)
        if volume is not None:
            new_paths.append(volume.device_path)
        if self._value("new_disk_gib", None):
            self.dataset = new_dataset(self.domain.host, self.domain.name)
            new_paths.append(f"/dev/zvol/{self.dataset}")
        for path in new_paths:
            index = next(i for i in range(1, 26) if i not in used)
            used.add(index)
            disks.append(DiskSpec(vdev=cfg.vdev_name(index), target=path, access="rw"))
        return tuple(disks)

    def _with_cdrom(self, disks: list[DiskSpec], choice: str) -> list[DiskSpec]:
        old = next((d for d in disks if d.cdrom), None)
        rest = [d for d in disks if not d.cdrom]
        if choice == NO_CDROM:
            return rest
        iso = next((i for i in self.isos if str(i.code) == choice), None)
        target = iso.path if iso is not None else ""
        vdev = old.vdev if old is not None else cfg.CDROM_VDEV
        drive = DiskSpec(vdev=vdev, target=target, access="r", cdrom=True)
        if old is not None:
            return [drive if d is old else d for d in disks]
        return [*rest, drive]

    def _vifs(self) -> tuple[VifSpec, ...]:
        vifs = []
        for i, vif in zip(self.nic_rows, self.current.vifs, strict=True):
            if self._value(f"nic{i}_remove", False):
                continue
            bridge = self._value(f"nic{i}_bridge", vif.bridge or "") or vif.bridge
            mac = self._value(f"nic{i}_mac", vif.mac or "") or None
            vifs.append(dataclasses.replace(vif, bridge=bridge, mac=mac))
        if self._value("add_nic", False):
            bridge = self._value("add_nic_bridge", "") or self.domain.host.default_bridge
            mac = self._value("add_nic_mac", "") or self.initial["add_nic_mac"]
            vifs.append(VifSpec(bridge=bridge, mac=mac))
        return tuple(vifs)

    def _vnc(self) -> dict[str, Any]:
        c = self.current
        if not self._value("vnc_enabled", bool(c.vnc)):
            if not c.vnc:
                return {}  # off already (or never said): leave the file as it is
            return {
                "vnc": False,
                "vnclisten": None,
                "vncdisplay": None,
                "vncunused": None,
                "vncpasswd": None,
            }
        display = c.vncdisplay if c.vnc else None
        taken = set(
            Domain.objects.filter(host=self.domain.host_id)
            .exclude(pk=self.domain.pk)
            .values_list("vnc_display", flat=True)
        )
        if display is None or display in taken:
            # Never a display another domU of the host has (the save picks it again under the
            # host's lock, so two saves cannot take the same one).
            display = cfg.next_display(taken)
        password = c.vncpasswd or ""
        if self._value("vnc_new_password", False) or not password:
            self.new_password = self.new_password or cfg.generate_password()
            password = self.new_password
        return {
            "vnc": True,
            "vnclisten": self._value("vnc_listen", c.vnclisten)
            or c.vnclisten
            or self.domain.host.vnc_listen,
            "vncdisplay": display,
            "vncunused": False if display is not None else None,
            "vncpasswd": password,
        }

    def new_text(self) -> str:
        """Return the config text the form makes (the current text if nothing changed)."""
        new = self.new_config()
        if new == self.current:
            return self.text
        try:
            return cfg.render_over(self.text, new)
        except (ValueError, ParseError) as exc:
            raise forms.ValidationError(f"Cannot render the config: {exc}") from exc
