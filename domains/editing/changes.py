"""Which changes between two configs Xen can apply to a running domU, and which wait for the
next start (pure: no DB, no I/O).

Live (xl(1)): `mem-set` up to the memory ceiling the domU started with (`maxmem`, else
`memory`), `vcpu-set` up to `maxvcpus` (else `vcpus`), `block-attach`/`block-detach` of PV disks,
`network-attach`/`network-detach` of a NIC with a fixed MAC, `cd-insert`/`cd-eject` of an
existing cdrom drive. Everything else (type, kernel, the ceilings themselves, the boot disk,
emulated IDE disks, a NIC's bridge, boot order, VNC, event actions, PCI) is read by xl only when
it creates the domU.
"""

from __future__ import annotations

from dataclasses import dataclass

from dom0.xlcfg import DiskSpec, DomainConfig, VifSpec

#: Operations the APPLY job knows, with the argument each takes.
MEM_SET, VCPU_SET = "mem-set", "vcpu-set"
BLOCK_ATTACH, BLOCK_DETACH = "block-attach", "block-detach"
NETWORK_ATTACH, NETWORK_DETACH = "network-attach", "network-detach"
CD_INSERT, CD_EJECT = "cd-insert", "cd-eject"


@dataclass(frozen=True)
class Change:
    """One difference: what it is, whether it applies live (and how), or why it waits."""

    what: str
    op: str = ""  # one of the operations above when it can apply live
    arg: str = ""  # its argument: MiB, count, vdev or MAC
    why: str = ""  # why it waits for the next start

    @property
    def live(self) -> bool:
        return bool(self.op)


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]

    @property
    def live(self) -> list[Change]:
        return [c for c in self.changes if c.live]

    @property
    def later(self) -> list[Change]:
        return [c for c in self.changes if not c.live]

    @property
    def all_live(self) -> bool:
        return bool(self.changes) and not self.later

    def __bool__(self) -> bool:
        return bool(self.changes)


_AT_START = "xl reads it only when it creates the domU"

#: Why nothing applies live while an earlier edit waits for a restart.
OLDER_CONFIG = (
    "the running domU still has an older config than its file (restart pending): restart it "
    "first, then changes can be applied live again"
)


def deferred(plan: Plan, why: str = OLDER_CONFIG) -> Plan:
    """Return `plan` with every change waiting for the next start, for `why`.

    A plan is built against the latest config version; while a restart is pending the domU runs
    an older one, so a live step could act on a ceiling or device it does not have.
    """
    return Plan(tuple(Change(c.what, why=c.why or why) for c in plan.changes))


def plan(old: DomainConfig, new: DomainConfig) -> Plan:
    """Return the changes from `old` (what the domU runs with) to `new`, each live or later."""
    changes = [
        *_memory(old, new),
        *_vcpus(old, new),
        *_disks(old, new),
        *_cdroms(old, new),
        *_nics(old, new),
        *_others(old, new),
    ]
    return Plan(tuple(changes))


def _memory(old: DomainConfig, new: DomainConfig) -> list[Change]:
    out = []
    ceiling = old.maxmem or old.memory
    if new.maxmem != old.maxmem:
        out.append(Change(f"maxmem {_or(old.maxmem)} → {_or(new.maxmem)} MiB", why=_AT_START))
    if new.memory != old.memory:
        what = f"memory {old.memory} → {new.memory} MiB"
        if new.memory <= ceiling:
            out.append(Change(what, MEM_SET, str(new.memory)))
        else:
            out.append(
                Change(what, why=f"above the {ceiling} MiB ceiling the domU started with (maxmem)")
            )
    return out


def _vcpus(old: DomainConfig, new: DomainConfig) -> list[Change]:
    out = []
    ceiling = old.maxvcpus or old.vcpus
    if new.maxvcpus != old.maxvcpus:
        out.append(Change(f"maxvcpus {_or(old.maxvcpus)} → {_or(new.maxvcpus)}", why=_AT_START))
    if new.vcpus != old.vcpus:
        what = f"vCPUs {old.vcpus} → {new.vcpus}"
        if new.vcpus <= ceiling:
            out.append(Change(what, VCPU_SET, str(new.vcpus)))
        else:
            out.append(Change(what, why=f"above the {ceiling} vCPUs it started with (maxvcpus)"))
    return out


def _disks(old: DomainConfig, new: DomainConfig) -> list[Change]:
    before = {d.vdev: d for d in old.disks if not d.cdrom}
    after = {d.vdev: d for d in new.disks if not d.cdrom}
    boot = next(iter(before), None)
    out = []
    for vdev, disk in before.items():
        if vdev not in after:
            what = f"detach disk {vdev} ({disk.target})"
            if vdev == boot:
                out.append(Change(what, why="it is the boot disk"))
            elif _emulated(disk):
                out.append(Change(what, why="an emulated IDE disk cannot be unplugged"))
            else:
                out.append(Change(what, BLOCK_DETACH, vdev))
        elif after[vdev] != disk:
            out.append(Change(f"disk {vdev}: {disk.target} → {after[vdev].target}", why=_AT_START))
    for vdev, disk in after.items():
        if vdev in before:
            continue
        what = f"attach disk {vdev} ({disk.target})"
        if _emulated(disk):
            out.append(Change(what, why="an emulated IDE disk cannot be plugged in"))
        else:
            out.append(Change(what, BLOCK_ATTACH, vdev))
    return out


def _emulated(disk: DiskSpec) -> bool:
    return disk.vdev.startswith("hd")


def _cdroms(old: DomainConfig, new: DomainConfig) -> list[Change]:
    before = {d.vdev: d for d in old.disks if d.cdrom}
    after = {d.vdev: d for d in new.disks if d.cdrom}
    out = []
    for vdev in before.keys() - after.keys():
        out.append(Change(f"remove the cdrom drive {vdev}", why=_AT_START))
    for vdev in after.keys() - before.keys():
        out.append(Change(f"add a cdrom drive {vdev}", why=_AT_START))
    for vdev in before.keys() & after.keys():
        was, now = before[vdev].target, after[vdev].target
        if was == now:
            continue
        if now:
            out.append(Change(f"cdrom {vdev}: insert {now}", CD_INSERT, vdev))
        else:
            out.append(Change(f"cdrom {vdev}: eject {was}", CD_EJECT, vdev))
    return out


def _nics(old: DomainConfig, new: DomainConfig) -> list[Change]:
    before = {v.mac.lower(): v for v in old.vifs if v.mac}
    after = {v.mac.lower(): v for v in new.vifs if v.mac}
    out = []
    for mac, vif in before.items():
        if mac not in after:
            out.append(
                Change(f"remove NIC {mac} ({vif.bridge or 'no bridge'})", NETWORK_DETACH, mac)
            )
        elif _vif_rest(after[mac]) != _vif_rest(vif):
            out.append(
                Change(f"NIC {mac}: bridge {vif.bridge} → {after[mac].bridge}", why=_AT_START)
            )
    for mac, vif in after.items():
        if mac not in before:
            out.append(Change(f"add NIC {mac} on {vif.bridge}", NETWORK_ATTACH, mac))
    # NICs without a fixed MAC cannot be named to xl network-detach: any change waits.
    if [v for v in old.vifs if not v.mac] != [v for v in new.vifs if not v.mac]:
        out.append(Change("NICs without a fixed MAC", why="xl can only name them at a start"))
    return out


def _vif_rest(vif: VifSpec) -> tuple[object, ...]:
    return (vif.bridge, vif.model, vif.type, vif.options, vif.flags)


#: Settings compared as a whole, with how the page names them.
_OTHERS = (
    ("builder", "guest type"),
    ("kernel", "kernel"),
    ("pci", "PCI devices"),
    ("boot", "boot order"),
    ("on_poweroff", "on_poweroff"),
    ("on_reboot", "on_reboot"),
    ("on_crash", "on_crash"),
    ("vnc", "VNC on/off"),
    ("vnclisten", "VNC listen address"),
    ("vncdisplay", "VNC display"),
    ("vncunused", "vncunused"),
    ("vncpasswd", "VNC password"),
    ("serial", "serial console"),
    ("usbdevice", "USB pointer"),
    ("extra", "other settings"),
)


def _others(old: DomainConfig, new: DomainConfig) -> list[Change]:
    out = []
    for attr, label in _OTHERS:
        was, now = getattr(old, attr), getattr(new, attr)
        if was == now:
            continue
        if attr in ("vncpasswd", "extra", "pci"):
            what = f"{label} changed"
        else:
            what = f"{label} {_or(was)} → {_or(now)}"
        out.append(Change(what, why=_AT_START))
    return out


def _or(value: object) -> str:
    return "default" if value in (None, "") else str(value)
