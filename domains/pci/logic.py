"""PCI passthrough decisions, pure (no DB, no I/O): BDFs, a config's `pci = [...]`, who may have
which device.

A listing is what a PCI_LIST job stored: `{"devices": [{bdf, driver, class_code, vendor, device,
description}], "assignable": [bdf, ...]}`. Holders map a BDF to the names of the domUs on the
same host whose config names it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dom0.xlcfg import DomainConfig

#: xl-pci-configuration(5): `[DDDD:]BB:DD.F`, then an optional `@VSLOT` and `,key=value` options.
_BDF_RE = re.compile(
    r"(?:(?P<dom>[0-9a-fA-F]{1,4}):)?(?P<bus>[0-9a-fA-F]{1,2}):(?P<dev>[0-9a-fA-F]{1,2})"
    r"\.(?P<func>[0-7])"
)
#: PCI base class (the first byte of the class code) -> what an admin calls it.
_CLASSES = {
    0x00: "unclassified",
    0x01: "storage controller",
    0x02: "network controller",
    0x03: "display controller",
    0x04: "multimedia",
    0x05: "memory controller",
    0x06: "bridge",
    0x07: "communication controller",
    0x08: "system peripheral",
    0x09: "input device",
    0x0C: "serial bus (USB, SMBus)",
    0x0D: "wireless controller",
    0x10: "encryption controller",
    0x11: "signal processing",
    0x12: "processing accelerator",
}
BRIDGE_CLASS = 0x06
NETWORK_CLASS = 0x02


class PciRefused(ValueError):
    """A PCI change the panel will not make; the message says why and what to do."""


def canonical_bdf(value: str) -> str:
    """Return "0000:03:00.0" for "03:00.0", "0000:03:00.0" or a config spec "03:00.0@2,k=v".

    Raises PciRefused for anything else.
    """
    text = str(value).strip()
    spec = text.split(",", 1)[0].split("@", 1)[0].strip()
    match = _BDF_RE.fullmatch(spec)
    if match is None:
        raise PciRefused(f"{text[:40]!r} is not a PCI address (BB:DD.F or DDDD:BB:DD.F).")
    dom = int(match["dom"] or "0", 16)
    bus, dev, func = int(match["bus"], 16), int(match["dev"], 16), int(match["func"])
    if dev > 0x1F:
        raise PciRefused(f"{text[:40]!r}: the device number must be 00 to 1f.")
    return f"{dom:04x}:{bus:02x}:{dev:02x}.{func}"


def pci_specs(config: DomainConfig) -> list[str]:
    """Return a config's `pci = [...]` entries verbatim (options like `,permissive=1` kept)."""
    raw: Any = getattr(config, "pci", None)
    if raw is None:  # dom0.xlcfg before it modelled `pci`: the key sits in `extra`
        raw = config.extra.get("pci", [])
    return [str(raw)] if isinstance(raw, str) else [str(item) for item in raw or []]


def spec_changed(specs: Sequence[str], bdf: str, *, attach: bool) -> list[str]:
    """Return the `pci` entries with `bdf` added (at the end) or removed (every spec naming it)."""
    if attach:
        return [*specs, bdf]
    kept = []
    for spec in specs:
        try:
            same = canonical_bdf(spec) == bdf
        except PciRefused:
            same = False
        if not same:
            kept.append(spec)
    return kept


def config_pci(config: DomainConfig) -> list[str]:
    """Return the BDFs of a config's `pci = [...]` (canonical; specs the panel cannot read are
    skipped: xl would refuse them at create)."""
    out: list[str] = []
    for item in pci_specs(config):
        try:
            bdf = canonical_bdf(str(item))
        except PciRefused:
            continue
        if bdf not in out:
            out.append(bdf)
    return out


def with_pci(config: DomainConfig, bdfs: Sequence[str]) -> DomainConfig:
    """Return the config with `pci = [bdfs]` (BDFs or specs; no `pci` line when empty)."""
    names = {f.name for f in dataclasses.fields(config)}
    if "pci" in names:
        return dataclasses.replace(config, pci=tuple(bdfs))
    extra = dict(config.extra)
    extra.pop("pci", None)
    if bdfs:
        extra["pci"] = list(bdfs)
    return dataclasses.replace(config, extra=extra)


def class_name(class_code: Any) -> str:
    """ "0x020000" -> "network controller"."""
    try:
        base = int(str(class_code), 16) >> 16
    except ValueError:
        return ""
    return _CLASSES.get(base, f"class {base:#04x}")


def base_class(class_code: Any) -> int | None:
    try:
        return int(str(class_code), 16) >> 16
    except ValueError:
        return None


@dataclass(frozen=True)
class DeviceRow:
    """One PCI device as the host page shows it."""

    bdf: str
    driver: str
    class_code: str
    kind: str
    vendor: str
    device: str
    description: str
    assignable: bool
    holders: tuple[str, ...]


def device_rows(
    listing: Mapping[str, Any], holders: Mapping[str, Iterable[str]]
) -> list[DeviceRow]:
    """Combine the listing and who holds what into table rows, in BDF order.

    A device in `xl pci-assignable-list` that `pciconf -l` did not show (the Dom0 no longer sees
    it) still gets a row: it is exactly the kind of device a domU can be given.
    """
    assignable = set(listing.get("assignable") or [])
    rows: dict[str, DeviceRow] = {}
    for dev in listing.get("devices") or []:
        if not isinstance(dev, Mapping) or not dev.get("bdf"):
            continue
        bdf = str(dev["bdf"])
        code = str(dev.get("class_code") or "")
        rows[bdf] = DeviceRow(
            bdf=bdf,
            driver=str(dev.get("driver") or ""),
            class_code=code,
            kind=class_name(code),
            vendor=str(dev.get("vendor") or ""),
            device=str(dev.get("device") or ""),
            description=str(dev.get("description") or ""),
            assignable=bdf in assignable,
            holders=tuple(sorted(holders.get(bdf, ()))),
        )
    for bdf in assignable - set(rows):
        rows[bdf] = DeviceRow(
            bdf, "", "", "", "", "", "", True, tuple(sorted(holders.get(bdf, ())))
        )
    return [rows[k] for k in sorted(rows)]


def attach_refusal(
    bdf: str,
    *,
    domain_name: str,
    running: bool,
    guest_type: str,
    current: Sequence[str],
    listing: Mapping[str, Any] | None,
    holders: Mapping[str, Iterable[str]],
) -> str:
    """Why `bdf` must not be added to this domU's config ('' if it may)."""
    if running:
        return (
            f"{domain_name} is running. Shut it down first: the device is written into its "
            "config and passed through at the next start."
        )
    if guest_type == "pvh":
        return (
            f"{domain_name} is a PVH guest; Xen passes PCI devices through to HVM (and PV) "
            "guests only."
        )
    if bdf in current:
        return f"{domain_name} already has {bdf}."
    others = sorted(set(holders.get(bdf, ())) - {domain_name})
    if others:
        return (
            f"{bdf} is already given to {', '.join(others)} on this host. A device can serve one "
            "domU: detach it there first."
        )
    if listing is None:
        return "Read the host's PCI devices first (host page, PCI devices: Read PCI devices)."
    if bdf not in set(listing.get("assignable") or []):
        return (
            f"{bdf} is not assignable on this host (not in xl pci-assignable-list when the "
            "devices were last read). An admin makes it assignable on the host page."
        )
    return ""


def detach_refusal(bdf: str, *, domain_name: str, running: bool, current: Sequence[str]) -> str:
    if running:
        return f"{domain_name} is running. Shut it down first, then detach {bdf}."
    if bdf not in current:
        return f"{domain_name}'s config has no {bdf}."
    return ""


def assignable_refusal(
    bdf: str, *, add: bool, listing: Mapping[str, Any] | None, holders: Mapping[str, Iterable[str]]
) -> str:
    """Why an admin's make-assignable / give-back must not be queued ('' if it may)."""
    if listing is None:
        return "Read the host's PCI devices first."
    known = {str(d.get("bdf")): d for d in listing.get("devices") or [] if isinstance(d, Mapping)}
    assignable = set(listing.get("assignable") or [])
    if add:
        dev = known.get(bdf)
        if dev is None:
            return f"{bdf} was not in pciconf -l when the devices were last read."
        if base_class(dev.get("class_code")) == BRIDGE_CLASS:
            return (
                f"{bdf} is a bridge: other devices (perhaps the Dom0's disks and NICs) sit behind "
                "it. The panel does not hide bridges from the Dom0."
            )
        return ""
    if bdf not in assignable:
        return f"{bdf} is not assignable; the Dom0 already has it."
    users = sorted(holders.get(bdf, ()))
    if users:
        return f"{', '.join(users)} still name {bdf} in their config. Detach it there first."
    return ""
