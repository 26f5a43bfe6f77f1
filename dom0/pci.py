"""PCI addresses and the listings that name them: xl's BDFs and FreeBSD's `pciconf -l`.

`pci_bdf` is re-exported by `dom0.validate`, the parsers by `dom0.parsers`. Sources of each format
are in the docstrings and in tests/dom0/test_day2_parsers.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dom0.errors import ParseError, ValidationError

__all__ = [
    "PciDevice",
    "parse_pci_assignable_list",
    "parse_pciconf_list",
    "parse_xl_pci_list",
    "pci_bdf",
]

# --- BDF ---------------------------------------------------------------------------------------

# xen tools/libs/util/libxlu_pci.c `parse_bdf`: hex `[DDDD:]BB:DD.F`, domain <= ffff, bus <= ff,
# device <= 1f, function <= 7. The panel takes at most the digits xl itself prints.
_BDF_RE = re.compile(
    r"(?:(?P<domain>[0-9a-fA-F]{1,4}):)?(?P<bus>[0-9a-fA-F]{1,2}):"
    r"(?P<dev>[0-9a-fA-F]{1,2})\.(?P<func>[0-9a-fA-F])"
)
_BDF_RULE = (
    "must be a PCI address such as 03:00.0 or 0000:03:00.0 (hex bus:device.function, device at "
    "most 1f, function at most 7)"
)


def _bdf(domain: int, bus: int, dev: int, func: int) -> str:
    # The form xl prints in pci-assignable-list and pci-list: "%04x:%02x:%02x.%01x".
    return f"{domain:04x}:{bus:02x}:{dev:02x}.{func:x}"


def pci_bdf(value: object, field: str = "pci") -> str:
    """Return a PCI address in xl's canonical form, e.g. `0000:03:00.0`."""
    text = value.strip() if isinstance(value, str) else None
    if text is None:
        raise ValidationError(field, "must be text", value)
    match = _BDF_RE.fullmatch(text)
    if not match:
        raise ValidationError(field, _BDF_RULE, value)
    dev, func = int(match["dev"], 16), int(match["func"], 16)
    if dev > 0x1F:
        raise ValidationError(field, "the device number must be at most 1f", value)
    if func > 7:
        raise ValidationError(field, "the function number must be at most 7", value)
    return _bdf(int(match["domain"] or "0", 16), int(match["bus"], 16), dev, func)


# --- xl pci-assignable-list, xl pci-list -------------------------------------------------------


def parse_pci_assignable_list(text: str) -> list[str]:
    """Parse `xl pci-assignable-list [-n]`: one `0000:03:00.0 [name]` per line.

    xl prints `"%04x:%02x:%02x.%01x %s\\n"` with an empty name unless `-n`, so every line ends in
    a space (xen tools/xl/xl_pci.c `pciassignable_list`). Names, if any, are dropped.
    """
    found: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        first = line.split()[0]
        try:
            found.append(pci_bdf(first))
        except ValidationError:
            raise ParseError(
                f"xl pci-assignable-list: expected a PCI address, got {line!r}"
            ) from None
    return found


_PCI_LIST_HEADER = "Vdev Device"
_PCI_LIST_ROW_RE = re.compile(r"(?P<vdev>[0-9a-f]{2}\.[0-7]) (?P<bdf>\S+)")


def parse_xl_pci_list(text: str) -> list[str]:
    """Parse `xl pci-list <dom>`: a `Vdev Device` header, then `00.0 0000:03:00.0` rows.

    Returns the host addresses (xen tools/xl/xl_pci.c `pcilist`: `"%02x.%01x %04x:%02x:%02x.%01x"`).
    """
    found: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped == _PCI_LIST_HEADER:
            continue
        match = _PCI_LIST_ROW_RE.fullmatch(stripped)
        if not match:
            raise ParseError(f"xl pci-list: unrecognised line {line!r}")
        found.append(pci_bdf(match["bdf"]))
    return found


# --- pciconf -l --------------------------------------------------------------------------------

#: pciconf.c `pci_nomatch_tab` (a copy of sys/dev/pci/pci.c's), the base-class rows only.
PCI_CLASSES = {
    0x00: "old",
    0x01: "mass storage",
    0x02: "network",
    0x03: "display",
    0x04: "multimedia",
    0x05: "memory",
    0x06: "bridge",
    0x07: "simple comms",
    0x08: "base peripheral",
    0x09: "input device",
    0x0A: "docking station",
    0x0B: "processor",
    0x0C: "serial bus",
    0x0D: "wireless controller",
    0x0E: "intelligent I/O controller",
    0x0F: "satellite communication",
    0x10: "encrypt/decrypt",
    0x11: "dasp",
    0x12: "processing accelerators",
    0x13: "non-essential instrumentation",
}


@dataclass(frozen=True)
class PciDevice:
    """One `pciconf -l` entry.

    `driver` is the name and unit pciconf prints (`em0`, `ppt0`, or `none2` when no driver has
    the device); `bdf` is xl's form of the address; the numbers are pciconf's hex fields.
    `description` is `vendor device` from `-v`, or the class name when pciconf printed none.
    """

    driver: str
    bdf: str
    class_code: int
    vendor: int
    device: int
    subvendor: int = 0
    subdevice: int = 0
    revision: int = 0
    description: str = ""

    @property
    def attached(self) -> bool:
        """True when a driver of the Dom0 holds the device (pciconf prints `none` otherwise)."""
        return not re.fullmatch(r"none\d+", self.driver)

    @property
    def class_name(self) -> str:
        return PCI_CLASSES.get(self.class_code >> 16, f"class 0x{self.class_code >> 16:02x}")


# FreeBSD usr.sbin/pciconf/pciconf.c `list_devs`: "%s%d@pci%d:%d:%d:%d:\t" then the fields.
# Selectors are decimal; old releases printed no PCI domain (`pci0:4:0:`, pciconf(8) of 4.5).
_PCICONF_RE = re.compile(r"(?P<driver>[^@\s]+)@pci(?P<sel>\d+(?::\d+){2,3}):\s+(?P<fields>.*)")
_FIELD_RE = re.compile(r"(?P<key>[a-z]+)=0x(?P<hex>[0-9a-fA-F]+)")
_VERBOSE_RE = re.compile(r"\s+(?P<key>vendor|device|class|subclass)\s+= (?P<value>.*)")


def _selector(sel: str, line: str) -> str:
    numbers = [int(n) for n in sel.split(":")]
    if len(numbers) == 3:
        numbers.insert(0, 0)
    domain, bus, dev, func = numbers
    if domain > 0xFFFF or bus > 0xFF or dev > 0x1F or func > 7:
        raise ParseError(f"pciconf -l: selector out of range in {line!r}")
    return _bdf(domain, bus, dev, func)


def _ids(fields: dict[str, int], line: str) -> tuple[int, int, int, int]:
    """Return (vendor, device, subvendor, subdevice) from either pciconf layout.

    Current pciconf prints `vendor= device= subvendor= subdevice=` (pciconf(8) of 14.3); older
    releases printed `chip=0x<device><vendor>` and `card=0x<subdevice><subvendor>` (pciconf(8) of
    9.1; the same packing as sys/dev/pci/pci.c's DDB `show pciregs`).
    """
    if "vendor" in fields and "device" in fields:
        return (
            fields["vendor"],
            fields["device"],
            fields.get("subvendor", 0),
            fields.get("subdevice", 0),
        )
    if "chip" in fields:
        card = fields.get("card", 0)
        return fields["chip"] & 0xFFFF, fields["chip"] >> 16, card & 0xFFFF, card >> 16
    raise ParseError(f"pciconf -l: no vendor and device in {line!r}")


def parse_pciconf_list(text: str) -> list[PciDevice]:
    """Parse FreeBSD `pciconf -l [-v]`, old (`card=`/`chip=`) and new (`vendor=`...) layouts."""
    devices: list[PciDevice] = []
    extra: dict[str, str] = {}

    def finish() -> None:
        if not devices or not extra:
            return
        last = devices[-1]
        named = " ".join(extra[k] for k in ("vendor", "device") if extra.get(k))
        devices[-1] = PciDevice(**{**last.__dict__, "description": named or last.description})
        extra.clear()

    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0].isspace():
            # `-v` adds `    vendor     = 'Intel Corporation'`; -b/-c/-e add other indented
            # lines, which the panel does not use.
            if devices and (match := _VERBOSE_RE.fullmatch(line.rstrip())):
                extra[match["key"]] = match["value"].strip("'")
            continue
        match = _PCICONF_RE.fullmatch(line.rstrip())
        if not match:
            raise ParseError(f"pciconf -l: unrecognised line {line!r}")
        finish()
        fields = {m["key"]: int(m["hex"], 16) for m in _FIELD_RE.finditer(match["fields"])}
        if "class" not in fields:
            raise ParseError(f"pciconf -l: no class in {line!r}")
        vendor, device, subvendor, subdevice = _ids(fields, line)
        code = fields["class"]
        devices.append(
            PciDevice(
                driver=match["driver"],
                bdf=_selector(match["sel"], line),
                class_code=code,
                vendor=vendor,
                device=device,
                subvendor=subvendor,
                subdevice=subdevice,
                revision=fields.get("rev", 0),
                description=PCI_CLASSES.get(code >> 16, ""),
            )
        )
    finish()
    return devices
