"""xl subcommands that change a running domU: memory, vCPUs, disks and NICs.

Texts follow tools/xl/xl_mem.c, xl_vcpu.c, xl_block.c, xl_nic.c and libxl_mem.c /
libxl_domain.c (docs/day2-cli-facts.md §2). Memory: `xl mem-set` moves the target within
maxmem; the domU's memory follows as far as the host has free memory (what a balloon driver
would reach), so free memory never goes negative. `xl mem-max` moves maxmem, never below the
target.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import domains
from .result import CommandExit, SimResult, ok
from .state import State
from .xl_build import _random_mac, _valid_mac
from .xldisk import DiskSpecError, parse_disk

if TYPE_CHECKING:
    from .host import SimHost

#: What libxl's LOGED appends: strerror(errno); errno is left over and UNVERIFIED (FreeBSD 0).
_ERRNO = ": No error: 0"
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
_NIC_KEYS += ("mtu", "vlan", "devid", "gatewaydev", "accel")


def _need(args: list[str], count: int, cmd: str) -> None:
    if len(args) < count:
        raise CommandExit(2, f"'xl {cmd}' requires at least {count} argument(s).")


def _domu(state: State, arg: str) -> domains.Domain:
    domid, dom = domains.find_domain(state, arg)
    if dom is None:
        # Domain-0 or an id that names nothing: libxl fails to read its xenstore entries.
        raise CommandExit(1, f"libxl: error: Domain {domid} has no simulated device state")
    return dom


def parse_mem_size_kb(text: str) -> int | None:
    """xl_parse.c parse_mem_size_kb: a number with an optional b/k/m/g/t (default MiB)."""
    match = re.fullmatch(r"\s*([+-]?\d+)([bBkKmMgGtT]?)", text)
    if match is None:
        return None
    number, unit = int(match.group(1)), match.group(2).lower()
    shift = {"t": 30, "g": 20, "": 10, "m": 10, "k": 0}.get(unit)
    return number >> 10 if unit == "b" else number << (shift or 0)


def xl_mem_set(host: SimHost, args: list[str]) -> SimResult:
    _need(args, 2, "mem-set")
    with host.store.edit() as state:
        dom = _domu(state, args[0])
        kb = parse_mem_size_kb(args[1])
        if kb is None or kb < 0:
            raise CommandExit(1, f"invalid memory size: {args[1]}")
        if kb > dom["maxmem"] * 1024:
            raise CommandExit(
                1,
                f"libxl: error: libxl_mem.c:278:libxl_set_memory_target: Domain {dom['domid']}:"
                "memory_dynamic_max must be less than or equal to memory_static_max",
                "",
                f"cannot set domid {dom['domid']} dynamic max memory to : {args[1]}",
            )
        target = kb // 1024
        dom["target_mem"] = target
        free = domains.free_memory_mib(state)
        dom["memory"] = min(target, dom["memory"] + max(0, free))
    return ok()


def xl_mem_max(host: SimHost, args: list[str]) -> SimResult:
    _need(args, 2, "mem-max")
    with host.store.edit() as state:
        dom = _domu(state, args[0])
        kb = parse_mem_size_kb(args[1])
        if kb is None or kb < 0:
            raise CommandExit(1, f"invalid memory size: {args[1]}")
        target: int = dom["target_mem"] if "target_mem" in dom else dom["memory"]
        if kb < target * 1024:
            raise CommandExit(
                1,
                f"libxl: error: libxl_mem.c:59:libxl_domain_setmaxmem: Domain {dom['domid']}:"
                f"memory_static_max must be greater than or or equal to memory_dynamic_max{_ERRNO}",
                f"cannot set domid {dom['domid']} static max memory to : {args[1]}",
            )
        dom["maxmem"] = kb // 1024
    return ok()


def xl_vcpu_set(host: SimHost, args: list[str]) -> SimResult:
    check_host = not any(a in ("-i", "--ignore-host") for a in args)
    rest = [a for a in args if a not in ("-i", "--ignore-host")]
    _need(rest, 2, "vcpu-set")
    with host.store.edit() as state:
        dom = _domu(state, rest[0])
        match = re.match(r"\s*\+?(\d+)", rest[1])
        if match is None:
            raise CommandExit(1, "Error: Invalid argument.")
        count = int(match.group(1))
        cpus = state["cpus"]
        if check_host and count > dom["vcpus"] and count > cpus:
            raise CommandExit(
                1,
                f"You are overcommmitting! You have {cpus} physical CPUs and want {count} "
                "vCPUs! Aborting, use --ignore-host to continue",
            )
        # A bitmap of 0 CPUs is allocated with all host CPUs (libxl_cpu_bitmap_alloc).
        wanted = count or cpus
        if wanted > dom["maxvcpus"]:
            raise CommandExit(
                1,
                f"libxl: error: libxl_domain.c:1873:libxl_set_vcpuonline: Domain {dom['domid']}:"
                f"Requested {wanted} VCPUs, however maxcpus is {dom['maxvcpus']}!{_ERRNO}",
                f"libxl_set_vcpuonline failed domid={dom['domid']} max_vcpus={count}, rc: -3",
            )
        dom["vcpus"] = wanted
    return ok()


def _qualifier(state: State, arg: str) -> domains.Domain:
    """libxl_domain_qualifier_to_domid: a name or an id, with xl's short message."""
    dom = domains.by_id(state, int(arg)) if arg.isdigit() else domains.by_name(state, arg)
    if dom is None:
        raise CommandExit(1, f"{arg} is an invalid domain identifier")
    return dom


def xl_block_attach(host: SimHost, args: list[str]) -> SimResult:
    _need(args, 2, "block-attach")
    spec = ",".join(args[1:])
    try:
        disk = parse_disk(spec)
    except DiskSpecError as exc:
        raise CommandExit(
            1, f"command line: config parsing error in disk specification: {exc}"
        ) from exc
    with host.store.edit() as state:
        dom = _qualifier(state, args[0])
        domid = dom["domid"]
        if disk.target and not host.local(disk.target).exists():
            raise CommandExit(
                1,
                f"libxl: error: libxl_device.c:468:libxl__device_disk_set_backend: Disk "
                f"vdev={disk.vdev} failed to stat: {disk.target}: No such file or directory",
                "libxl_device_disk_add failed.",
            )
        if any(d["vdev"] == disk.vdev for d in dom["disks"]):
            raise CommandExit(
                1,
                f"libxl: error: libxl_disk.c:377:device_disk_add: Domain {domid}:"
                "device already exists in xenstore",
                "libxl_device_disk_add failed.",
            )
        record: dict[str, Any] = disk.__dict__ | {"removable": disk.removable}
        if record["target"]:
            record["target"] = host.normalize(record["target"])
        dom["disks"].append(record)
    return ok()


def xl_block_detach(host: SimHost, args: list[str]) -> SimResult:
    rest = [a for a in args if a not in ("-f", "--force")]
    _need(rest, 2, "block-detach")
    with host.store.edit() as state:
        dom = _domu(state, rest[0])
        disk = next((d for d in dom["disks"] if d["vdev"] == rest[1]), None)
        if disk is None:
            raise CommandExit(1, f"Error: Device {rest[1]} not connected.")
        dom["disks"].remove(disk)
    return ok()


def _parse_nic(tokens: list[str]) -> dict[str, Any]:
    nic: dict[str, Any] = {}
    for tok in tokens:
        key, _, value = tok.partition("=")
        if key not in _NIC_KEYS:
            raise CommandExit(1, f"unrecognized argument `{tok}'")
        if key == "mac":
            if not _valid_mac(value):
                raise CommandExit(1, "Invalid parameter `mac'.")
            value = value.lower()
        nic[key] = value
    return nic


def xl_network_attach(host: SimHost, args: list[str]) -> SimResult:
    _need(args, 1, "network-attach")
    with host.store.edit() as state:
        dom = _domu(state, args[0])
        nic = _parse_nic(args[1:])
        nic["devid"] = max((n["devid"] for n in dom["nics"]), default=-1) + 1
        nic.setdefault("mac", _random_mac())
        nic.setdefault("bridge", "xenbr0")
        dom["nics"].append(nic)
    return ok()


def xl_network_detach(host: SimHost, args: list[str]) -> SimResult:
    _need(args, 2, "network-detach")
    with host.store.edit() as state:
        dom = _domu(state, args[0])
        ident = args[1]
        if ":" not in ident:
            digits = re.match(r"\s*[+-]?\d*", ident)
            devid = int(digits.group()) if digits and digits.group().strip("+- ") else 0
            nic = next((n for n in dom["nics"] if n["devid"] == devid), None)
        else:
            nic = next((n for n in dom["nics"] if n["mac"] == ident.lower()), None)
        if nic is None:
            raise CommandExit(1, f"Unknown device {ident}.")
        dom["nics"].remove(nic)
    return ok()


# printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n", ...) in xl_nic.c.
NETWORK_LIST_HEADER = (
    f"{'Idx':<3} {'BE':<2} {'Mac Addr.':<17} {'handle':<6} {'state':<5} {'evt-ch':<6} "
    f"{'tx-':>5}/{'rx-ring-ref':<5} {'BE-path':<30}"
)


def xl_network_list(host: SimHost, args: list[str]) -> SimResult:
    _need(args, 1, "network-list")
    state = host.store.read()
    lines = [NETWORK_LIST_HEADER]
    for arg in args:
        _, dom = domains.find_domain(state, arg)
        if dom is None:
            continue
        for nic in dom["nics"]:
            devid = nic["devid"]
            # Event channel and grant references are made up but stable (UNVERIFIED values).
            evtch, tx = 20 + 2 * devid, 768 + 2 * devid
            path = f"/local/domain/0/backend/vif/{dom['domid']}/{devid}"
            # "%-3d %-2d " MAC "%6d %5d %6d %5d/%-11d %-30s\n"
            lines.append(
                f"{devid:<3} {0:<2} {nic['mac']}{devid:>6} {4:>5} {evtch:>6} "
                f"{tx:>5}/{tx + 1:<11} {path:<30}"
            )
    return ok("".join(f"{line}\n" for line in lines))
