"""A domU's settings as the panel models them, built from and written to parsed xl.cfg settings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from dom0.errors import ParseError
from dom0.xlcfg.disks import DiskSpec, parse_disk, render_disk
from dom0.xlcfg.syntax import Value, _strtol0
from dom0.xlcfg.vifs import VifSpec, parse_vif, render_vif


@dataclass(frozen=True)
class DomainConfig:
    """A domU's settings; `extra` keeps every key the panel does not model, verbatim."""

    name: str
    memory: int
    vcpus: int = 1
    builder: str = "hvm"
    disks: tuple[DiskSpec, ...] = ()
    vifs: tuple[VifSpec, ...] = ()
    vnc: bool | None = None
    vnclisten: str | None = None
    vncdisplay: int | None = None
    vncunused: bool | None = None
    vncpasswd: str | None = None
    serial: str | tuple[str, ...] | None = None
    usbdevice: str | tuple[str, ...] | None = None
    boot: str | None = None
    on_poweroff: str | None = None
    on_reboot: str | None = None
    on_crash: str | None = None
    #: `maxmem` (MiB) and `maxvcpus`: the ceilings `xl mem-set` and `xl vcpu-set` may reach.
    maxmem: int | None = None
    maxvcpus: int | None = None
    #: PVH: the kernel or PVH boot loader on the host.
    kernel: str | None = None
    #: `pci = [...]` specs, verbatim (`'03:00.0'` or `'0000:03:00.0,permissive=1'`).
    pci: tuple[str, ...] = ()
    extra: Mapping[str, Value] = field(default_factory=dict)

    def to_settings(self) -> dict[str, Value]:
        """Return settings in the handbook's order; `builder` is written as the modern `type`."""
        out: dict[str, Value] = {"type": self.builder}
        if self.kernel is not None:
            out["kernel"] = self.kernel
        out |= {"name": self.name, "memory": self.memory, "vcpus": self.vcpus}
        if self.maxmem is not None:
            out["maxmem"] = self.maxmem
        if self.maxvcpus is not None:
            out["maxvcpus"] = self.maxvcpus
        if self.vifs:
            out["vif"] = [render_vif(v) for v in self.vifs]
        if self.disks:
            out["disk"] = [render_disk(d) for d in self.disks]
        if self.pci:
            out["pci"] = list(self.pci)
        optional: dict[str, Value | None] = {
            "vnc": None if self.vnc is None else int(self.vnc),
            "vnclisten": self.vnclisten,
            "vncdisplay": self.vncdisplay,
            "vncunused": None if self.vncunused is None else int(self.vncunused),
            "vncpasswd": self.vncpasswd,
            "serial": _seq_value(self.serial),
            "usbdevice": _seq_value(self.usbdevice),
            "boot": self.boot,
            "on_poweroff": self.on_poweroff,
            "on_reboot": self.on_reboot,
            "on_crash": self.on_crash,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        for key, value in self.extra.items():
            if key in out or key in _MODELLED:
                raise ValueError(f"extra key {key!r} clashes with a modelled setting")
            out[key] = value
        return out

    @classmethod
    def from_settings(cls, settings: Mapping[str, Value], *, arch: str = "x86_64") -> DomainConfig:
        """Build from parsed settings; raise ParseError for what xl itself would refuse.

        `arch` is the Dom0's machine (`uname -m`, e.g. `amd64`, `aarch64`): without `type` or
        `builder`, xl makes a PV guest on x86 and a PVH guest on Arm (xl_parse.c).
        """
        name = settings.get("name")
        if not isinstance(name, str) or not name:
            raise ParseError("Domain name must be specified.")
        builder = guest_type(settings, arch=arch)
        return cls(
            name=name,
            memory=_num(settings, "memory", required=True),
            vcpus=_num(settings, "vcpus") or 1,
            builder=builder,
            disks=tuple(parse_disk(s) for s in _str_list(settings, "disk")),
            vifs=tuple(parse_vif(s) for s in _str_list(settings, "vif")),
            vnc=_opt_bool(settings, "vnc"),
            vnclisten=_opt_str(settings, "vnclisten"),
            vncdisplay=_num(settings, "vncdisplay") if "vncdisplay" in settings else None,
            vncunused=_opt_bool(settings, "vncunused"),
            vncpasswd=_opt_str(settings, "vncpasswd"),
            serial=_str_or_list(settings, "serial"),
            usbdevice=_str_or_list(settings, "usbdevice"),
            boot=_opt_str(settings, "boot"),
            on_poweroff=_opt_str(settings, "on_poweroff"),
            on_reboot=_opt_str(settings, "on_reboot"),
            on_crash=_opt_str(settings, "on_crash"),
            maxmem=_num(settings, "maxmem") if "maxmem" in settings else None,
            maxvcpus=_num(settings, "maxvcpus") if "maxvcpus" in settings else None,
            kernel=_opt_str(settings, "kernel"),
            pci=tuple(_str_list(settings, "pci")),
            extra={k: v for k, v in settings.items() if k not in _MODELLED},
        )


_MODELLED = frozenset(
    {
        "type",
        "builder",
        "name",
        "memory",
        "vcpus",
        "disk",
        "vif",
        "vnc",
        "vnclisten",
        "vncdisplay",
        "vncunused",
        "vncpasswd",
        "serial",
        "usbdevice",
        "boot",
        "on_poweroff",
        "on_reboot",
        "on_crash",
        "maxmem",
        "maxvcpus",
        "kernel",
        "pci",
    }
)


ARM_MACHINES = ("aarch64", "arm64", "arm")


def guest_type(settings: Mapping[str, Value], *, arch: str = "x86_64") -> str:
    """Return the guest type xl makes of `type` and the deprecated `builder` (xl_parse.c).

    Both are compared as prefixes (`strncmp(buf, "hvm", strlen(buf))`, so "h" is hvm). `builder`
    takes only "hvm" and "generic" (pv) since Xen 4.10; "linux" and other old builders are
    refused with xl's own message.
    """
    kind = None
    if "type" in settings:
        value = _str(settings, "type")
        kind = next((t for t in ("hvm", "pv", "pvh") if t.startswith(value)), None)
        if kind is None:
            raise ParseError(f"Invalid domain type {value}.")
    if "builder" in settings:
        value = _str(settings, "builder")
        old = "hvm" if "hvm".startswith(value) else "pv" if "generic".startswith(value) else None
        if old is None:
            raise ParseError(f"Invalid domain type {value}.")
        if kind is not None and kind != old:
            raise ParseError('Contradicting "builder" and "type" options specified.')
        kind = old
    if kind is None:
        kind = "pvh" if arch.startswith(ARM_MACHINES) else "pv"
    return kind


def _seq_value(value: str | tuple[str, ...] | None) -> Value | None:
    if isinstance(value, tuple):
        return list(value)
    return value


def _str(settings: Mapping[str, Value], key: str) -> str:
    value = settings[key]
    if not isinstance(value, str):
        raise ParseError(f'{key} must be a string, e.g. {key} = "..."')
    return value


def _opt_str(settings: Mapping[str, Value], key: str) -> str | None:
    return _str(settings, key) if key in settings else None


def _num(settings: Mapping[str, Value], key: str, *, required: bool = False) -> int:
    value = settings.get(key)
    if value is None:
        if required:
            raise ParseError(f"{key} must be specified")
        return 0
    if isinstance(value, str):
        number = _strtol0(value) if value else None
        if number is None:
            raise ParseError(f"parameter `{key}' is not a valid number")
        return number
    if isinstance(value, int):
        return value
    raise ParseError(f"parameter `{key}' is a list but should be a single value")


def _opt_bool(settings: Mapping[str, Value], key: str) -> bool | None:
    return bool(_num(settings, key)) if key in settings else None


def _str_list(settings: Mapping[str, Value], key: str) -> list[str]:
    value = settings.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParseError(f"parameter `{key}' should be a list of strings")
    return [v for v in value if isinstance(v, str)]


def _str_or_list(settings: Mapping[str, Value], key: str) -> str | tuple[str, ...] | None:
    if key not in settings:
        return None
    value = settings[key]
    if isinstance(value, str):
        return value
    return tuple(_str_list(settings, key))


def without_cdroms(cfg: DomainConfig) -> DomainConfig:
    """Return `cfg` without its cdrom drives (the handbook's step after installing)."""
    return dataclasses.replace(cfg, disks=tuple(d for d in cfg.disks if not d.cdrom))


def cdrom_vdevs(cfg: DomainConfig) -> list[str]:
    """Return the vdevs of `cfg`'s cdrom drives, e.g. `['hdc']`."""
    return [d.vdev for d in cfg.disks if d.cdrom]
