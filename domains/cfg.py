"""Build, render and read back a domU's xl config file (pure functions: no DB, no I/O)."""

from __future__ import annotations

import dataclasses
import posixpath
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from dom0 import validate, xlcfg
from dom0.errors import ValidationError
from dom0.xlcfg import DiskSpec, DomainConfig, VifSpec

#: Displays the panel hands out per host (ports 5901–5999). 0 is left alone: a desktop VNC
#: server on the Dom0 itself usually sits on 5900.
VNC_DISPLAYS = range(1, 100)
DISK_VDEV = "hda"
CDROM_VDEV = "hdc"
#: A PVH guest has no emulated IDE: its disks are PV block devices only (xen-vbd-interface.7).
PVH_DISK_VDEV = "xvda"
HVM, PVH = "hvm", "pvh"
#: xl.cfg(5) `on_poweroff`/`on_reboot`/`on_crash` values.
EVENT_ACTIONS = (
    "destroy",
    "restart",
    "rename-restart",
    "preserve",
    "coredump-destroy",
    "coredump-restart",
    "soft-reset",
)
#: xl.cfg(5) HVM `boot`: c = first hard disk, d = first CD-ROM, in the order given.
BOOT_ORDERS = {"c": "hard disk", "dc": "CD-ROM, then hard disk", "d": "CD-ROM only"}
# No characters that are easy to misread when typed from a screen into a VNC viewer.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105 (an alphabet)


@dataclass(frozen=True)
class Nic:
    """One `vif`: its bridge and its MAC (None only in configs the panel did not write)."""

    bridge: str
    mac: str | None = None


@dataclass(frozen=True)
class Settings:
    """What the new-domU form (or a Domain row) says the config should be."""

    name: str
    memory_mb: int
    vcpus: int
    disk_path: str | None
    iso_path: str | None
    bridge: str
    vnc_enabled: bool = True
    vnc_listen: str = "127.0.0.1"
    vnc_display: int | None = None
    vnc_password: str = ""
    serial_pty: bool = True
    tablet: bool = True
    guest_type: str = HVM
    # PVH: the kernel or PVH boot loader on the host (`kernel = "..."`).
    kernel: str = ""
    maxmem_mb: int | None = None
    maxvcpus: int | None = None
    # Disks after the boot disk (device paths), in order.
    extra_disks: tuple[str, ...] = ()
    # None: one NIC on `bridge` with no fixed MAC (callers from before stable MACs).
    nics: tuple[Nic, ...] | None = None
    boot: str | None = None
    on_poweroff: str | None = None
    on_reboot: str | None = None
    on_crash: str | None = None
    pci: tuple[str, ...] = ()


def config_path(config_dir: str, name: str) -> str:
    return posixpath.join(config_dir, f"{name}.cfg")


def generate_password() -> str:
    """Return an 8-character VNC password (classic VNC auth uses no more than 8)."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(8))


def next_display(taken: Iterable[int | None]) -> int | None:
    """Return the lowest free VNC display on a host, or None when all are used."""
    used = {d for d in taken if d is not None}
    return next((d for d in VNC_DISPLAYS if d not in used), None)


def disk_vdevs(guest_type: str, count: int) -> list[str]:
    """Return the vdevs of a new config's disks: the boot disk first, then the others.

    HVM: hda (emulated IDE, so any firmware boots from it), then PV disks xvdb, xvdd, xvde...
    (index 2 is hdc, the cdrom). PVH: xvda, xvdb, ...
    """
    if guest_type == PVH:
        return [vdev_name(i) for i in range(count)]
    return ([DISK_VDEV] + [vdev_name(i) for i in range(1, 27) if i != 2])[:count]


def vdev_name(index: int) -> str:
    """Return the PV disk name of a disk index: 0 -> xvda, 25 -> xvdz."""
    return "xvd" + chr(ord("a") + index)


def vdev_index(vdev: str) -> int | None:
    """Return the disk index a vdev names (hda/xvda/sda = 0), or None for other forms."""
    for prefix in ("xvd", "hd", "sd"):
        rest = vdev.removeprefix(prefix)
        if rest != vdev and len(rest) == 1 and rest.isalpha():
            return ord(rest) - ord("a")
    return None


def nics_of(s: Settings) -> tuple[Nic, ...]:
    if s.nics is not None:
        return s.nics
    return (Nic(s.bridge),) if s.bridge else ()


def build(s: Settings) -> DomainConfig:
    """Return the handbook's config for these settings.

    HVM: the volume as hda, the ISO as hdc, a VNC framebuffer, serial pty and tablet. PVH: a
    kernel on the host, PV disks only (no emulated devices: no cdrom, no VNC, no serial pty; its
    console is the PV console, `xl console`).
    """
    pvh = s.guest_type == PVH
    paths = [p for p in (s.disk_path, *s.extra_disks) if p]
    disks = [
        DiskSpec(vdev=vdev, target=path, access="rw")
        for vdev, path in zip(disk_vdevs(s.guest_type, len(paths)), paths, strict=True)
    ]
    if s.iso_path and not pvh:
        disks.append(DiskSpec(vdev=CDROM_VDEV, target=s.iso_path, access="r", cdrom=True))
    vnc: dict[str, object] = {} if pvh else {"vnc": s.vnc_enabled}
    if s.vnc_enabled and not pvh:
        vnc |= {
            "vnclisten": s.vnc_listen,
            "vncdisplay": s.vnc_display,
            # A fixed display and no search: the port is the same after every start.
            "vncunused": False if s.vnc_display is not None else None,
            "vncpasswd": s.vnc_password or None,
        }
    return DomainConfig(
        name=s.name,
        memory=s.memory_mb,
        vcpus=s.vcpus,
        builder=PVH if pvh else HVM,
        kernel=s.kernel if pvh and s.kernel else None,
        maxmem=s.maxmem_mb,
        maxvcpus=s.maxvcpus,
        disks=tuple(disks),
        vifs=tuple(VifSpec(bridge=n.bridge, mac=n.mac) for n in nics_of(s)),
        pci=tuple(s.pci),
        serial="pty" if s.serial_pty and not pvh else None,
        usbdevice="tablet" if s.tablet and not pvh else None,
        boot=None if pvh else s.boot,
        on_poweroff=s.on_poweroff,
        on_reboot=s.on_reboot,
        on_crash=s.on_crash,
        **vnc,  # type: ignore[arg-type]
    )


def render(cfg: DomainConfig) -> str:
    return xlcfg.render(cfg.to_settings())


def parse(text: str, source: str = "config", *, arch: str = "x86_64") -> DomainConfig:
    """Return the DomainConfig a config text describes (raises ParseError like xl would).

    `arch` is the Dom0's machine: a file without `type` is PV on x86 and PVH on Arm. FreeBSD
    runs as a Xen Dom0 on amd64 only, so callers leave the x86 default; the parameter keeps the
    rule in one place for the day a host records its machine (`xl info` `machine`).
    """
    return DomainConfig.from_settings(xlcfg.parse(text, source=source), arch=arch)


def render_over(text: str, new: DomainConfig) -> str:
    """Return the config text for `new`, written over the current `text`.

    A file the panel wrote is rendered afresh in its layout; any other (an imported,
    hand-written file) is edited in place: only changed keys' statements are rewritten, new
    keys appended, and the user's comments and order stay.
    """
    if not text or is_panel_file(text):
        return render(new)
    return xlcfg.edit_config(text, new)


def without_cdrom(text: str) -> str:
    """Return the config text without its cdrom drives (handbook B6)."""
    return render_over(text, xlcfg.without_cdroms(parse(text)))


def has_cdrom(text: str) -> bool:
    try:
        return bool(xlcfg.cdrom_vdevs(parse(text)))
    except xlcfg.ParseError:
        return False


def summary(cfg: DomainConfig) -> dict[str, object]:
    """Return the Domain fields a config implies (to keep the row in step with the file).

    `disk_path` is the boot disk (the first that is not a cdrom), `extra_disk_paths` the others;
    `nics` is one (position, mac or None, bridge) per vif.
    """
    disks = [d.target for d in cfg.disks if not d.cdrom and d.target]
    vnc = xlcfg.vnc_view(cfg)
    cdrom = next((d for d in cfg.disks if d.cdrom and d.target), None)
    vif = cfg.vifs[0] if cfg.vifs else None
    serial = cfg.serial if isinstance(cfg.serial, str) else (cfg.serial or ("",))[0]
    usb = cfg.usbdevice if isinstance(cfg.usbdevice, str) else (cfg.usbdevice or ("",))[0]
    return {
        "memory_mb": cfg.memory,
        "vcpus": cfg.vcpus or 1,
        "maxmem_mb": cfg.maxmem or None,
        "maxvcpus": cfg.maxvcpus or None,
        "guest_type": cfg.builder[:3],
        "kernel": cfg.kernel or "",
        "pci": [_bdf(spec) for spec in cfg.pci],
        "disk_path": disks[0] if disks else None,
        "extra_disk_paths": disks[1:],
        "iso_path": cdrom.target if cdrom else None,
        "bridge": (vif.bridge or "") if vif else "",
        "nics": [(i, _mac_or_none(v.mac), v.bridge or "") for i, v in enumerate(cfg.vifs)],
        # As libxl decides it: HVM's VNC is on without a `vnc` key; PV/PVH use a `vfb` entry.
        "vnc_enabled": vnc.enabled,
        "vnc_listen": vnc.listen or "127.0.0.1",
        "vnc_display": vnc.display if vnc.enabled and vnc.findunused is False else None,
        "vnc_password": vnc.passwd or "",
        "serial_pty": serial == "pty",
        "tablet": usb == "tablet",
    }


def _bdf(spec: str) -> str:
    """Return the device of a `pci` spec ('0000:03:00.0,permissive=1' -> '0000:03:00.0')."""
    bdf = spec.split(",", 1)[0].strip()
    canonical = getattr(validate, "pci_bdf", None)
    if canonical is None:
        return bdf
    try:
        return str(canonical(bdf))
    except ValidationError:
        return bdf


def _mac_or_none(value: str | None) -> str | None:
    """Return a vif's MAC in the lower-case colon form, or None if it has none (or a bad one)."""
    if not value:
        return None
    try:
        return validate.mac(value)
    except ValidationError:
        return None


#: `vncpasswd = "…"` anywhere on a line, and `vncpasswd=…` inside a vfb spec string.
_PASSWD_RE = re.compile(
    r"""(\bvncpasswd\s*=\s*)"""
    r"""(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|([^,"'\]\s][^,"'\]\n]*))"""
)
#: libxl's JSON (`xl list -l`) carries the VNC password as `"passwd": "…"`.
_JSON_PASSWD_RE = re.compile(r'("passwd"\s*:\s*)"(?:[^"\\]|\\.)*"')
MASK = "********"
#: The first line of every config file the panel writes (xlcfg.HEADER).
PANEL_MARK = "Managed by xenpanel"


def passwords(text: str) -> list[str]:
    """Return every VNC password a config text sets: `vncpasswd` and each vfb `vncpasswd=`."""
    try:
        settings = xlcfg.parse(text)
    except xlcfg.ParseError:
        return []
    found = []
    top = settings.get("vncpasswd")
    if isinstance(top, str) and top:
        found.append(top)
    vfbs = settings.get("vfb")
    for spec in vfbs if isinstance(vfbs, list) else [vfbs]:
        if not isinstance(spec, str):
            continue
        for part in spec.split(","):
            key, sep, value = part.strip().partition("=")
            if sep and key.strip() == "vncpasswd" and value:
                found.append(value)
    return found


def mask_password(text: str) -> str:
    """Return config text with every VNC password replaced, for pages and diffs.

    A pattern masks the usual spellings wherever they sit on a line; then any password the
    parsed config sets that the pattern did not catch is replaced wherever it appears.
    """
    caught: set[str] = set()

    def hide(m: re.Match[str]) -> str:
        if not (m[2] or m[3] or m[4]):
            return m[0]  # an empty password: showing stars would suggest there is one
        if m[2] is not None:
            caught.update({m[2], _unescape(m[2])})
            return f'{m[1]}"{MASK}"'
        if m[3] is not None:
            caught.update({m[3], _unescape(m[3])})
            return f"{m[1]}'{MASK}'"
        caught.add(m[4].strip())
        return f"{m[1]}{MASK}"

    masked = _PASSWD_RE.sub(hide, text)
    for value in passwords(text):
        if value not in caught and value in masked:
            masked = masked.replace(value, MASK)
    return masked


def mask_json_passwords(text: str) -> str:
    """Return `xl list -l` output with libxl's `"passwd"` values replaced."""
    return _JSON_PASSWD_RE.sub(lambda m: f'{m[1]}"{MASK}"', text)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def is_panel_file(text: str, stored: Iterable[str] = ()) -> bool:
    """Say whether a config file on the host is one the panel wrote (its header, or a version)."""
    if PANEL_MARK in text.split("\n", 1)[0]:
        return True
    return any(text.strip() == version.strip() for version in stored)


def with_settings(cfg: DomainConfig, **changes: object) -> DomainConfig:
    return dataclasses.replace(cfg, **changes)  # type: ignore[arg-type]
