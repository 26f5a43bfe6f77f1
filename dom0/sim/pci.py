"""The simulated host's PCI devices: `pciconf -l[v]` and `xl pci-assignable-*`, `xl pci-list`.

Six fake devices (a NIC Dom0 uses, a spare NIC, a GPU, a USB controller, an NVMe drive and an
SMBus controller without a driver). Making a device assignable detaches its FreeBSD driver, so
`pciconf -l` shows it as `none<N>@...` like any device without a driver; `-r` on remove gives
the driver back. libxl's pci-assignable code is written for Linux pciback (sysfs); stock
FreeBSD libxl points those paths at /dev/null, so there every assignable call fails
(docs/day2-cli-facts.md §3). By default the simulator behaves like a Dom0 with pciback, so the
panel's passthrough flow can be exercised; `SimHost.set_pciback(False)` gives stock FreeBSD.
A device given to a running domU leaves `xl pci-assignable-list` (libxl skips devices whose
xenstore entry names a domid) and cannot be given to a second one.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from . import domains
from .result import CommandExit, SimResult, ok
from .state import State
from .xl_build import canonical_bdf

if TYPE_CHECKING:
    from .host import SimHost

Device = dict[str, Any]

SEED: dict[str, Device] = {
    "0000:00:14.0": {"driver": "xhci0", "class": "0x0c0330", "rev": "0x04", "vendor": "0x8086",
                     "device": "0x8c31", "subvendor": "0x17aa", "subdevice": "0x2214",
                     "vendor_name": "Intel Corporation",
                     "device_name": "8 Series/C220 Series Chipset Family USB xHCI",
                     "class_name": "serial bus", "subclass_name": "USB"},
    "0000:00:19.0": {"driver": "em0", "class": "0x020000", "rev": "0x04", "vendor": "0x8086",
                     "device": "0x1502", "subvendor": "0x17aa", "subdevice": "0x21f3",
                     "vendor_name": "Intel Corporation",
                     "device_name": "82579LM Gigabit Network Connection (Lewisville)",
                     "class_name": "network", "subclass_name": "ethernet"},
    "0000:00:1f.3": {"driver": None, "class": "0x0c0500", "rev": "0x04", "vendor": "0x8086",
                     "device": "0x8c22", "subvendor": "0x17aa", "subdevice": "0x2214",
                     "vendor_name": "Intel Corporation",
                     "device_name": "8 Series/C220 Series Chipset Family SMBus Controller",
                     "class_name": "serial bus", "subclass_name": "SMBus"},
    "0000:01:00.0": {"driver": "vgapci0", "class": "0x030000", "rev": "0xa1", "vendor": "0x10de",
                     "device": "0x1c82", "subvendor": "0x1043", "subdevice": "0x8613",
                     "vendor_name": "NVIDIA Corporation",
                     "device_name": "GP107 [GeForce GTX 1050 Ti]",
                     "class_name": "display", "subclass_name": "VGA"},
    "0000:02:00.0": {"driver": "nvme0", "class": "0x010802", "rev": "0x00", "vendor": "0x144d",
                     "device": "0xa808", "subvendor": "0x144d", "subdevice": "0xa801",
                     "vendor_name": "Samsung Electronics Co Ltd",
                     "device_name": "NVMe SSD Controller SM981/PM981/PM983",
                     "class_name": "mass storage", "subclass_name": "NVM"},
    "0000:03:00.0": {"driver": "igb0", "class": "0x020000", "rev": "0x03", "vendor": "0x8086",
                     "device": "0x1533", "subvendor": "0x8086", "subdevice": "0x0001",
                     "vendor_name": "Intel Corporation",
                     "device_name": "I210 Gigabit Network Connection",
                     "class_name": "network", "subclass_name": "ethernet"},
}  # fmt: skip


def devices(state: State) -> dict[str, Device]:
    """Return the host's devices by BDF, seeding them into a state from before they existed."""
    if "pci_devices" not in state:
        state["pci_devices"] = {
            bdf: {**copy.deepcopy(dev), "home": dev["driver"], "assignable": False}
            for bdf, dev in SEED.items()
        }
    table: dict[str, Device] = state["pci_devices"]
    return table


def user_of(state: State, bdf: str) -> domains.Domain | None:
    """Return the domU that has the device, if any."""
    return next((d for d in state["domains"].values() if bdf in d.get("pci", [])), None)


def _selector(bdf: str) -> str:
    dom, bus, rest = bdf.split(":")
    dev, func = rest.split(".")
    return f"pci{int(dom, 16)}:{int(bus, 16)}:{int(dev, 16)}:{int(func)}"


def pciconf(host: SimHost, args: list[str]) -> SimResult:
    flags = "".join(a[1:] for a in args if a.startswith("-"))
    if "l" not in flags:
        raise CommandExit(1, "usage: pciconf -l [-BbcetVv] [device]")
    state = host.store.read()
    lines = []
    unattached = 0
    for bdf, dev in sorted(devices(state).items()):
        name = dev["driver"]
        if name is None:
            name = f"none{unattached}"
            unattached += 1
        lines.append(
            f"{name}@{_selector(bdf)}:\tclass={dev['class']} rev={dev['rev']} hdr=0x00 "
            f"vendor={dev['vendor']} device={dev['device']} subvendor={dev['subvendor']} "
            f"subdevice={dev['subdevice']}"
        )
        if "v" in flags:
            lines.append(f"    vendor     = '{dev['vendor_name']}'")
            lines.append(f"    device     = '{dev['device_name']}'")
            lines.append(f"    class      = {dev['class_name']}")
            lines.append(f"    subclass   = {dev['subclass_name']}")
    return ok("".join(f"{line}\n" for line in lines))


def _libxl(level: str, line: int, func: str, text: str) -> str:
    return f"libxl: {level}: libxl_pci.c:{line}:{func}: {text}"


def _bdf_arg(cmd: str, args: list[str], flags: str) -> tuple[set[str], str]:
    seen = {a[1:] for a in args if a.startswith("-") and len(a) > 1}
    rest = [a for a in args if not (a.startswith("-") and len(a) > 1)]
    bad = next((f for f in seen if f not in flags), None)
    if bad is not None:
        raise CommandExit(2, f"option `{bad}' not supported.")
    if not rest:
        raise CommandExit(2, f"'xl {cmd}' requires at least 1 argument.")
    return seen, rest[0]


def stock_freebsd(state: State) -> bool:
    """Whether the host behaves like stock FreeBSD libxl (no pciback: SYSFS paths are /dev/null)."""
    return not state.get("pciback", True)


def xl_pci_assignable_list(host: SimHost, args: list[str]) -> SimResult:
    state = host.store.read()
    if stock_freebsd(state):
        return ok(
            stderr=_libxl("error", 450, "libxl_device_pci_assignable_list",
                          "Couldn't open /dev/null: Not a directory") + "\n"
        )  # fmt: skip
    rows = [
        bdf
        for bdf, dev in sorted(devices(state).items())
        if dev["assignable"] and user_of(state, bdf) is None
    ]
    # "%04x:%02x:%02x.%01x %s\n" with no name: every line ends in a space (xl_pci.c).
    return ok("".join(f"{bdf} \n" for bdf in rows))


def xl_pci_assignable_add(host: SimHost, args: list[str]) -> SimResult:
    _, text = _bdf_arg("pci-assignable-add", args, "n")
    bdf = canonical_bdf(text)
    if bdf is None:
        raise CommandExit(2, f'pci-assignable-add: malformed BDF "{text}"')
    with host.store.edit() as state:
        dev = devices(state).get(bdf)
        if stock_freebsd(state):
            raise CommandExit(
                1,
                _libxl("error", 796, "libxl__device_pci_assignable_add",
                       f"Couldn't lstat /dev/null/{bdf}: Not a directory"),
            )  # fmt: skip
        if dev is None:
            raise CommandExit(
                1,
                _libxl("error", 796, "libxl__device_pci_assignable_add",
                       f"Couldn't lstat /sys/bus/pci/devices/{bdf}: No such file or directory"),
            )  # fmt: skip
        if dev["assignable"]:
            return ok(
                stderr=_libxl("warning", 806, "libxl__device_pci_assignable_add",
                              f"{bdf} already assigned to pciback") + "\n"
            )  # fmt: skip
        dev["assignable"] = True
        dev["driver"] = None
    return ok()


def xl_pci_assignable_remove(host: SimHost, args: list[str]) -> SimResult:
    flags, text = _bdf_arg("pci-assignable-remove", args, "r")
    bdf = canonical_bdf(text)
    if bdf is None:
        raise CommandExit(2, f"pci-assignable-remove: malformed BDF '{text}'")
    with host.store.edit() as state:
        dev = devices(state).get(bdf)
        # De-quarantine (xc_deassign_device from DOMID_IO) fails for a device a domU holds and,
        # the simulator assumes, for one that was never made assignable (UNVERIFIED).
        if dev is None or not dev["assignable"] or user_of(state, bdf) is not None:
            raise CommandExit(
                1,
                _libxl("error", 910, "libxl__device_pci_assignable_remove",
                       f"failed to de-quarantine {bdf}"),
            )  # fmt: skip
        dev["assignable"] = False
        if "r" in flags:
            dev["driver"] = dev["home"]
    return ok()


def xl_pci_list(host: SimHost, args: list[str]) -> SimResult:
    if not args:
        raise CommandExit(2, "'xl pci-list' requires at least 1 argument.")
    state = host.store.read()
    _, dom = domains.find_domain(state, args[0])
    lines = ["Vdev Device"]
    # QEMU gives passed-through devices the free slots after its own (UNVERIFIED numbering).
    for index, bdf in enumerate(dom.get("pci", []) if dom else []):
        lines.append(f"{4 + index:02x}.0 {bdf}")
    return ok("".join(f"{line}\n" for line in lines))


def refuse(state: State, dom: domains.Domain, domid: int) -> list[str] | None:
    """libxl's lines when a domU's `pci` list cannot be given to it at create, else None."""
    table = devices(state)
    for bdf in dom.get("pci", []):
        dev = table.get(bdf)
        holder = user_of(state, bdf)
        if holder is not None:
            why = f"PCI device {bdf} already assigned to a different guest?"
            line = 1563
        elif dev is None or not dev["assignable"]:
            d, b, rest = bdf.split(":")
            s, f = rest.split(".")
            why = f"PCI device {int(d, 16):x}:{int(b, 16):x}:{int(s, 16):x}.{f} is not assignable"
            line = 1582
        else:
            continue
        return [
            f"libxl: error: libxl_pci.c:{line}:libxl__device_pci_add: Domain {domid}:{why}",
            f"libxl: error: libxl_create.c:1940:domcreate_attach_devices: Domain {domid}:"
            "unable to add pci devices",
        ]
    return None
