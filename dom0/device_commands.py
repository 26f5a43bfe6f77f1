"""Argv builders for a running domU's memory, vCPUs and devices, and for PCI passthrough
(re-exported by `dom0.commands`); every input goes through `validate` first."""

from __future__ import annotations

import ipaddress
import re

from dom0 import validate
from dom0.errors import ValidationError
from dom0.policy import DEFAULT_POLICY, PathPolicy
from dom0.policy import domain_arg as _dom
from dom0.xlcfg import DiskSpec, VifSpec, render_disk

__all__ = [
    "pciconf_list",
    "xl_block_attach",
    "xl_block_detach",
    "xl_mem_max",
    "xl_mem_set",
    "xl_network_attach",
    "xl_network_detach",
    "xl_network_list",
    "xl_pci_assignable_add",
    "xl_pci_assignable_list",
    "xl_pci_assignable_remove",
    "xl_pci_list",
    "xl_vcpu_set",
]

# --- xl: memory, vCPUs, devices of a running domU ----------------------------------------------


def xl_mem_set(dom: str | int, mib: int) -> list[str]:
    """Return `xl mem-set <dom> <mib>m` (the balloon target; at most the domU's maxmem)."""
    return ["xl", "mem-set", _dom(dom), f"{validate.memory_mb(mib)}m"]


def xl_mem_max(dom: str | int, mib: int) -> list[str]:
    """Return `xl mem-max <dom> <mib>m`."""
    return ["xl", "mem-max", _dom(dom), f"{validate.memory_mb(mib, field='maxmem')}m"]


def xl_vcpu_set(dom: str | int, count: int) -> list[str]:
    """Return `xl vcpu-set <dom> <count>` (xl brings vCPUs online up to maxvcpus)."""
    return ["xl", "vcpu-set", _dom(dom), str(validate.vcpus(count))]


#: Disk spec options a block-attach may carry: `script` and `backend` would run a program or
#: pick a backend domain on the host, which the panel never asks for.
_ATTACH_DISK_OPTIONS = ("backendtype", "specification")


def xl_block_attach(
    dom: str | int, disk: DiskSpec, *, policy: PathPolicy = DEFAULT_POLICY
) -> list[str]:
    """Return `xl block-attach <dom> '<disk spec>'` (one spec word, as in a config file)."""
    if not isinstance(disk, DiskSpec):
        raise ValidationError("disk", "must be a disk spec", disk)
    validate.vdev(disk.vdev)
    if disk.target or not disk.cdrom:
        validate.abs_path(disk.target, "disk", policy.disk_roots)
    for key, _value in disk.options:
        if key not in _ATTACH_DISK_OPTIONS:
            raise ValidationError(
                "disk", f"the option {key}= is not allowed (only {', '.join(_ATTACH_DISK_OPTIONS)})"
            )
    try:
        spec = render_disk(disk)
    except ValueError as exc:
        raise ValidationError("disk", str(exc), disk) from None
    return ["xl", "block-attach", _dom(dom), spec]


def xl_block_detach(dom: str | int, vdev: str) -> list[str]:
    """Return `xl block-detach <dom> <vdev>` (xl waits for the domU to let go; no -f)."""
    return ["xl", "block-detach", _dom(dom), validate.vdev(vdev)]


_VIF_TYPES = ("vif", "ioemu")
_VIF_MODEL_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_VIF_RATE_RE = re.compile(r"[0-9]+[KMG]?[bB]/s(@[0-9]+[mu]?s)?")


def _vif_option(key: str, value: str) -> str:
    """Check one extra `key=value` of a network-attach; `script`, `backend` etc. are refused."""
    if key == "ip":
        try:
            for address in value.split():
                ipaddress.ip_address(address)
        except ValueError:
            raise ValidationError("ip", "must be IP addresses separated by spaces", value) from None
        return value
    if key == "vifname":
        return validate.interface_name(value, "vifname")
    if key == "rate":
        if not _VIF_RATE_RE.fullmatch(value):
            raise ValidationError("rate", "must be a rate such as 10Mb/s or 1MB/s@20ms", value)
        return value
    if key == "mtu":
        if not value.isascii() or not value.isdigit() or not 68 <= int(value) <= 65535:
            raise ValidationError("mtu", "must be a whole number from 68 to 65535", value)
        return value
    raise ValidationError(
        "vif", f"the option {key}= is not allowed (only ip, vifname, rate and mtu)", key
    )


def xl_network_attach(dom: str | int, vif: VifSpec) -> list[str]:
    """Return `xl network-attach <dom> bridge=<b> mac=<m> [model=..] [type=..] [k=v..]`.

    Each item is its own word (xl's synopsis). A bridge and a MAC are required: without a MAC xl
    picks a random one at every attach, and without a bridge it uses xl.conf's `xenbr0`.
    """
    if not isinstance(vif, VifSpec):
        raise ValidationError("vif", "must be a vif spec", vif)
    if vif.bridge is None:
        raise ValidationError(
            "bridge", "is required (xl's default bridge xenbr0 is not the host's)"
        )
    if vif.mac is None:
        raise ValidationError("mac", "is required, so the domU keeps its MAC address")
    items = [f"bridge={validate.bridge_name(vif.bridge)}", f"mac={validate.mac(vif.mac)}"]
    if vif.model is not None:
        if not _VIF_MODEL_RE.fullmatch(vif.model):
            raise ValidationError("model", "must be a device model such as e1000", vif.model)
        items.append(f"model={vif.model}")
    if vif.type is not None:
        if vif.type not in _VIF_TYPES:
            raise ValidationError("type", f"must be one of {', '.join(_VIF_TYPES)}", vif.type)
        items.append(f"type={vif.type}")
    if vif.flags:
        raise ValidationError("vif", "flags are not allowed, only key=value items", vif.flags)
    items += [f"{key}={_vif_option(key, value)}" for key, value in vif.options]
    return ["xl", "network-attach", _dom(dom), *items]


def xl_network_detach(dom: str | int, mac: str) -> list[str]:
    """Return `xl network-detach <dom> <mac>` (xl takes a devid or a MAC; the MAC is stable)."""
    return ["xl", "network-detach", _dom(dom), validate.mac(mac)]


def xl_network_list(dom: str | int) -> list[str]:
    return ["xl", "network-list", _dom(dom)]


# --- PCI passthrough ---------------------------------------------------------------------------


def xl_pci_assignable_list() -> list[str]:
    return ["xl", "pci-assignable-list"]


def xl_pci_assignable_add(bdf: str) -> list[str]:
    """Return `xl pci-assignable-add <bdf>` (xl unbinds the device from its Dom0 driver)."""
    return ["xl", "pci-assignable-add", validate.pci_bdf(bdf)]


def xl_pci_assignable_remove(bdf: str, *, rebind: bool = False) -> list[str]:
    """Return `xl pci-assignable-remove [-r] <bdf>`; `-r` gives it back to its Dom0 driver."""
    return ["xl", "pci-assignable-remove", *(["-r"] if rebind else []), validate.pci_bdf(bdf)]


def xl_pci_list(dom: str | int) -> list[str]:
    return ["xl", "pci-list", _dom(dom)]


def pciconf_list(*, verbose: bool = False) -> list[str]:
    """Return FreeBSD's `pciconf -l` (`-v` adds vendor and device names)."""
    return ["pciconf", "-l", *(["-v"] if verbose else [])]
