"""Turn a parsed xl config into a domain record and its libxl JSON (`xl list -l`, `xl create -n`).

Mirrors the checks of xl_parse.c that exit 1; checks that need the host (names, memory, disks)
belong to the create step in xl_create.py.
"""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

from .result import CommandExit
from .xlcfg import Config, strtol
from .xldisk import Disk, DiskSpecError, parse_disk

_ACTIONS = {
    "destroy": "destroy",
    "restart": "restart",
    "rename-restart": "restart_rename",
    "preserve": "preserve",
    "coredump-destroy": "coredump_destroy",
    "coredump-restart": "coredump_restart",
    "soft-reset": "soft_reset",
}
_ACTION_DEFAULTS = {
    "on_poweroff": "destroy",
    "on_reboot": "restart",
    "on_watchdog": "destroy",
    "on_crash": "destroy",
    "on_soft_reset": "soft_reset",
}
_NIC_KEYS: tuple[str, ...] = (
    "mac",
    "bridge",
    "type",
    "model",
    "vifname",
    "script",
    "ip",
    "backend",
    "rate",
)
_NIC_KEYS += ("mtu", "vlan", "devid", "gatewaydev")


def _domain_type(cfg: Config) -> str:
    type_ = cfg.get_string("type")
    builder = cfg.get_string("builder")
    from_builder = None
    if builder is not None:
        from_builder = "hvm" if builder == "hvm" else "pv"
    if type_ is not None:
        # xl compares a prefix of the known names, so "h" means hvm.
        match = next((t for t in ("pv", "pvh", "hvm") if type_ and t.startswith(type_)), None)
        if match is None:
            raise CommandExit(1, f"Invalid domain type {type_}.")
        if from_builder is not None and from_builder != match:
            raise CommandExit(1, 'Contradicting "builder" and "type" options specified.')
        return match
    return from_builder or "pv"


def _actions(cfg: Config) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, default in _ACTION_DEFAULTS.items():
        text = cfg.get_string(key)
        if text is None:
            value = default
        elif text in _ACTIONS:
            value = _ACTIONS[text]
        else:
            raise CommandExit(1, f'Unknown {key} action "{text}" specified')
        out[key] = value
    return out


def _disks(cfg: Config) -> list[Disk]:
    disks = []
    for spec in cfg.get_list("disk") or []:
        try:
            disks.append(parse_disk(spec))
        except DiskSpecError as exc:
            raise CommandExit(
                1, f"{cfg.source}: config parsing error in disk specification: {exc}"
            ) from exc
    return disks


def _random_mac() -> str:
    tail = [random.randint(0, 255) for _ in range(3)]
    tail[0] &= 0x7F
    return "00:16:3e:" + ":".join(f"{b:02x}" for b in tail)


def _nics(cfg: Config, warnings: list[str]) -> list[dict[str, Any]]:
    nics = []
    for devid, spec in enumerate(cfg.get_list("vif") or []):
        nic: dict[str, Any] = {"devid": devid}
        for tok in (t.strip() for t in spec.split(",")):
            if not tok:
                continue
            key, _, value = tok.partition("=")
            if key not in _NIC_KEYS:
                warnings.append(f"unrecognized argument `{tok}'")
                continue
            if key == "mac" and not _valid_mac(value):
                warnings.append("Invalid parameter `mac'.")
                continue
            nic[key] = value.lower() if key == "mac" else value
        nic.setdefault("mac", _random_mac())
        nic.setdefault("bridge", "xenbr0")
        nics.append(nic)
    return nics


def _valid_mac(value: str) -> bool:
    parts = value.split(":")
    return len(parts) == 6 and all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts
    )


def _vnc(cfg: Config) -> dict[str, Any]:
    enable = cfg.get_int("vnc")
    listen = cfg.get_string("vnclisten") or "127.0.0.1"
    display = cfg.get_int("vncdisplay") or 0
    if ":" in listen:
        if display:
            raise CommandExit(
                3,
                "libxl: error: libxl_dm.c:1181:libxl__build_device_model_args_new: "
                "vncdisplay set, vnclisten contains display",
            )
        listen, _, disp = listen.partition(":")
        display = strtol(disp) or 0
    unused = cfg.get_int("vncunused")
    return {
        "enable": enable is None or enable != 0,
        "listen": listen,
        "display": display,
        "findunused": unused is None or unused != 0,
        "passwd": cfg.get_string("vncpasswd") or "",
    }


def build_domain(cfg: Config) -> dict[str, Any]:
    """Return the domain record (without domid) for a parsed config, or raise CommandExit(1)."""
    name = cfg.get_string("name")
    if not name:
        raise CommandExit(1, "Domain name must be specified.")
    dtype = _domain_type(cfg)
    memory = cfg.get_int("memory") or 128
    # libxl has no check of maxmem < memory; the simulator lifts maxmem to memory (UNVERIFIED).
    maxmem = max(cfg.get_int("maxmem") or memory, memory)
    vcpus = max(1, cfg.get_int("vcpus") or 1)
    maxvcpus = cfg.get_int("maxvcpus") or vcpus
    if maxvcpus < vcpus:
        raise CommandExit(1, "xl: maxvcpus < vcpus")
    uuid_text = cfg.get_string("uuid")
    try:
        dom_uuid = str(uuid.UUID(uuid_text)) if uuid_text else str(uuid.uuid4())
    except ValueError as exc:
        raise CommandExit(1, f"Failed to parse UUID: {uuid_text}") from exc
    actions = _actions(cfg)
    disks = _disks(cfg)
    warnings: list[str] = []
    nics = _nics(cfg, warnings)
    record: dict[str, Any] = {
        "name": name,
        "uuid": dom_uuid,
        "type": dtype,
        "memory": memory,
        "maxmem": maxmem,
        "vcpus": vcpus,
        "maxvcpus": maxvcpus,
        "actions": actions,
        "disks": [disk.__dict__ | {"removable": disk.removable} for disk in disks],
        "nics": nics,
        "vnc": _vnc(cfg) if dtype == "hvm" else None,
        "hvm_extra": _hvm_extra(cfg) if dtype == "hvm" else {},
        "kernel": cfg.get_string("kernel") if dtype in ("pv", "pvh") else None,
        "pci": _pcis(cfg),
    }
    record["warnings"] = cfg.warnings + warnings
    return record


def _pcis(cfg: Config) -> list[str]:
    """Read `pci = [ 'BB:DD.F[,opts]' ]` as "DDDD:BB:DD.F" (libxlu_pci.c spec strings)."""
    out = []
    for spec in cfg.get_list("pci") or []:
        bdf = spec.split(",", 1)[0].split("@", 1)[0].strip()
        canonical = canonical_bdf(bdf)
        if canonical is None:
            # xl_parse.c exits with -e, e being libxlu's ERROR_INVAL (-6).
            raise CommandExit(6, f"unable to parse PCI_SPEC_STRING `{spec}' for passthrough")
        out.append(canonical)
    return out


def canonical_bdf(text: str) -> str | None:
    """Return "0000:03:00.0" for "03:00.0" or "0000:03:00.0", or None if it is no BDF."""
    match = re.fullmatch(
        r"(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])", text
    )
    if match is None:
        return None
    dom, bus, dev, func = match.groups()
    if int(dev, 16) > 0x1F:
        return None
    return f"{int(dom or '0', 16):04x}:{int(bus, 16):02x}:{int(dev, 16):02x}.{func}"


_VGA = {"stdvga": "std", "cirrus": "cirrus", "none": "none", "qxl": "qxl"}


def _hvm_extra(cfg: Config) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    # xl_parse.c: `vga` wins over the old boolean `stdvga`; an unknown word exits 1.
    vga = cfg.get_string("vga")
    if vga is not None:
        if vga not in _VGA:
            raise CommandExit(1, f'Unknown vga "{vga}" specified')
        extra["vga"] = {"kind": _VGA[vga]}
    elif (stdvga := cfg.get_int("stdvga")) is not None:
        extra["vga"] = {"kind": "std" if stdvga else "cirrus"}
    for key in ("serial", "usbdevice"):
        if cfg.has(key):
            value = cfg.settings[key][0]
            if isinstance(value, list):
                extra[f"{key}_list"] = cfg.get_list(key)
            else:
                extra[key] = cfg.get_string(key)
    for key in ("boot", "keymap"):
        text = cfg.get_string(key)
        if text:
            extra[key] = text
    return extra


def libxl_config(dom: dict[str, Any]) -> dict[str, Any]:
    """Return the libxl_domain_config JSON of a domain, defaults omitted (facts §1.3)."""
    b_info: dict[str, Any] = {
        "max_vcpus": dom["maxvcpus"],
        "avail_vcpus": list(range(dom["vcpus"])),
        "max_memkb": dom["maxmem"] * 1024,
        "target_memkb": dom.get("target_mem", dom["memory"]) * 1024,
        # An aggregate member is always emitted, even with every field at its default
        # (gentypes.py `get_default_expr`); the scheduler fields are unset in a stored config.
        "sched_params": {},
    }
    if dom["type"] == "hvm":
        vnc = dom["vnc"]
        vnc_json: dict[str, Any] = {"enable": str(vnc["enable"]), "listen": vnc["listen"]}
        if vnc["passwd"]:
            vnc_json["passwd"] = vnc["passwd"]
        if vnc["display"]:
            vnc_json["display"] = vnc["display"]
        vnc_json["findunused"] = str(vnc["findunused"])
        b_info["video_memkb"] = 8192
        # vga, sdl, spice and rdm are structs of libxl_domain_build_info's hvm union, so they
        # appear as {} when unset (libxl_types.idl, RELEASE-4.18.0).
        hvm: dict[str, Any] = {"vga": {}, "vnc": vnc_json, "sdl": {}, "spice": {}, "rdm": {}}
        b_info["type.hvm"] = hvm | dom["hvm_extra"]
    if dom.get("kernel"):
        b_info["kernel"] = dom["kernel"]
    config: dict[str, Any] = {
        "c_info": {"type": dom["type"], "name": dom["name"], "uuid": dom["uuid"]},
        "b_info": b_info,
    }
    if dom.get("pci"):
        config["pcis"] = [_pci_json(bdf) for bdf in dom["pci"]]
    if dom["disks"]:
        config["disks"] = [_disk_json(d) for d in dom["disks"]]
    if dom["nics"]:
        config["nics"] = [_nic_json(n, dom["type"]) for n in dom["nics"]]
    for key, value in dom["actions"].items():
        if value != "destroy" and not (key == "on_soft_reset" and value == "soft_reset"):
            config[key] = value
    return config


def _disk_json(disk: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if disk["target"]:
        out["pdev_path"] = disk["target"]
    out |= {"vdev": disk["vdev"], "backend": "phy", "format": disk["format"]}
    for key in ("removable", "readwrite", "is_cdrom"):
        if disk[key]:
            out[key] = 1
    return out


def _nic_json(nic: dict[str, Any], dtype: str) -> dict[str, Any]:
    # libxl_devid's init value is -1, not 0, so devid 0 is emitted too (libxl_types.idl).
    devid = nic["devid"]
    out: dict[str, Any] = {"devid": int(devid) if str(devid).isdigit() else devid}
    out |= {k: v for k, v in nic.items() if k not in ("devid", "type")}
    out["nictype"] = (
        "vif_ioemu" if dtype == "hvm" and nic.get("type", "ioemu") == "ioemu" else "vif"
    )
    return out


def _pci_json(bdf: str) -> dict[str, Any]:
    dom, bus, rest = bdf.split(":")
    dev, func = rest.split(".")
    out: dict[str, Any] = {"func": int(func), "dev": int(dev, 16), "bus": int(bus, 16)}
    if int(dom, 16):
        out["domain"] = int(dom, 16)
    return out
