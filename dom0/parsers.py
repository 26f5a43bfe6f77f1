"""Turn tool output into typed values, and tool failures into typed errors.

Formats follow `xen-cli-facts.md`; each parser raises `ParseError` on output it does not
recognise rather than guessing.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dom0 import errors
from dom0.classify import check, check_result, classify_error
from dom0.commands import VOLUME_COLUMNS, ZPOOL_COLUMNS
from dom0.pci import PciDevice, parse_pci_assignable_list, parse_pciconf_list, parse_xl_pci_list
from dom0.snapshots import SnapshotRow, parse_zfs_snapshots
from dom0.vifs import VifRow, parse_xl_network_list

__all__ = [
    "DiskInfo",
    "DomainDetail",
    "DomainRow",
    "DomainState",
    "NicInfo",
    "PciDevice",
    "SnapshotRow",
    "VifRow",
    "VncInfo",
    "XlInfo",
    "ZfsVolume",
    "ZpoolRow",
    "check",
    "check_result",
    "classify_error",
    "parse_fetch_size",
    "parse_pci_assignable_list",
    "parse_pciconf_list",
    "parse_sysctl",
    "parse_sysrc",
    "parse_xl_info",
    "parse_xl_list",
    "parse_xl_list_long",
    "parse_xl_network_list",
    "parse_xl_pci_list",
    "parse_zfs_get",
    "parse_zfs_list",
    "parse_zfs_snapshots",
    "parse_zpool_list",
]


# --- xl list -----------------------------------------------------------------------------------


class DomainState(enum.StrEnum):
    RUNNING = "running"
    BLOCKED = "blocked"
    PAUSED = "paused"
    SHUTDOWN = "shutdown"
    CRASHED = "crashed"
    DYING = "dying"
    RUNNABLE = "runnable"


_REASONS = {
    "-": "poweroff",
    "r": "reboot",
    "s": "suspend",
    "c": "crash",
    "w": "watchdog",
    "S": "soft_reset",
    "?": "unknown",
}


@dataclass(frozen=True)
class DomainRow:
    name: str
    domid: int
    mem_mib: int
    vcpus: int
    state_letters: str
    state: DomainState
    shutdown_reason: str | None
    cpu_seconds: float
    #: Columns right of Time(s) that `-v`, `-Z`, `-c`, `-n` or `list-claims` add, as printed.
    extra: tuple[str, ...] = ()


_XL_HEADER_RE = re.compile(r"Name\s+ID\s+Mem\s+VCPUs\s+State\s+Time\(s\)")
_XL_ROW_RE = re.compile(
    r"(?P<name>.+?)\s+(?P<id>\d+)\s+(?P<mem>\d+)\s+(?P<vcpus>\d+)\s+"
    r"(?P<state>[r-][b-][p-][s-][-rscwS?][d-])\s+(?P<time>\d+\.\d+)"
    r"(?:\s+(?P<extra>\S.*))?"
)


def decode_state(letters: str) -> tuple[DomainState, str | None]:
    """Return (state, shutdown reason) for the six `xl list` state letters (facts §1.2)."""
    if len(letters) != 6:
        raise errors.ParseError(f"xl list: bad state field {letters!r}")
    running, blocked, paused, shutdown, reason_letter, dying = tuple(letters)
    reason = _REASONS.get(reason_letter) if shutdown == "s" else None
    if dying == "d":
        state = DomainState.DYING
    elif shutdown == "s":
        state = DomainState.CRASHED if reason == "crash" else DomainState.SHUTDOWN
    elif paused == "p":
        state = DomainState.PAUSED
    elif running == "r":
        state = DomainState.RUNNING
    elif blocked == "b":
        state = DomainState.BLOCKED
    else:
        state = DomainState.RUNNABLE
    return state, reason


def parse_xl_list(text: str) -> list[DomainRow]:
    """Parse plain `xl list`: split each row from the right so long names and spaces survive."""
    rows: list[DomainRow] = []
    for line in text.splitlines():
        stripped = line.rstrip()
        if not stripped.strip() or _XL_HEADER_RE.match(stripped):
            continue
        match = _XL_ROW_RE.fullmatch(stripped)
        if not match:
            raise errors.ParseError(f"xl list: unrecognised line {line!r}")
        state, reason = decode_state(match["state"])
        rows.append(
            DomainRow(
                name=match["name"].strip(),
                domid=int(match["id"]),
                mem_mib=int(match["mem"]),
                vcpus=int(match["vcpus"]),
                state_letters=match["state"],
                state=state,
                shutdown_reason=reason,
                cpu_seconds=float(match["time"]),
                extra=tuple(match["extra"].split()) if match["extra"] else (),
            )
        )
    return rows


# --- xl list -l --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiskInfo:
    pdev_path: str
    vdev: str
    format: str
    readwrite: bool
    is_cdrom: bool
    removable: bool


@dataclass(frozen=True)
class NicInfo:
    mac: str | None
    bridge: str | None
    model: str | None
    devid: int


@dataclass(frozen=True)
class VncInfo:
    enable: bool | None
    listen: str | None
    display: int
    findunused: bool | None
    password_set: bool
    # libxl's JSON holds the password itself; kept so an import can write it back into the
    # config (not in the repr, so it never lands in a log line).
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DomainDetail:
    domid: int | None
    name: str
    uuid: str | None
    type: str | None
    max_vcpus: int
    memory_mib: int
    max_memory_mib: int
    disks: list[DiskInfo]
    nics: list[NicInfo]
    vnc: VncInfo | None
    config: dict[str, Any] = field(repr=False, default_factory=dict)


def _defbool(value: object) -> bool | None:
    """Read a libxl defbool (`"True"`, `"False"`, `"<default>"`) or a plain JSON bool."""
    if isinstance(value, bool):
        return value
    if value == "True":
        return True
    if value == "False":
        return False
    return None


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _detail(domid: object, config: dict[str, Any]) -> DomainDetail:
    c_info = _obj(config.get("c_info"))
    b_info = _obj(config.get("b_info"))
    hvm = _obj(b_info.get("type.hvm"))
    vnc_raw = hvm.get("vnc")
    vnc = None
    if isinstance(vnc_raw, dict):
        vnc = VncInfo(
            enable=_defbool(vnc_raw.get("enable")),
            listen=vnc_raw.get("listen"),
            display=int(vnc_raw.get("display", 0) or 0),
            findunused=_defbool(vnc_raw.get("findunused")),
            password_set=bool(vnc_raw.get("passwd")),
            password=str(vnc_raw["passwd"]) if vnc_raw.get("passwd") else None,
        )
    disks = [
        DiskInfo(
            pdev_path=d.get("pdev_path", "") or "",
            vdev=d.get("vdev", "") or "",
            format=d.get("format", "raw") or "raw",
            readwrite=bool(d.get("readwrite", 0)),
            is_cdrom=bool(d.get("is_cdrom", 0)),
            removable=bool(d.get("removable", 0)),
        )
        for d in map(_obj, config.get("disks") or [])
    ]
    nics = [
        NicInfo(
            mac=n.get("mac"),
            bridge=n.get("bridge"),
            model=n.get("model"),
            devid=int(n.get("devid", 0) or 0),
        )
        for n in map(_obj, config.get("nics") or [])
    ]
    return DomainDetail(
        domid=domid if isinstance(domid, int) and not isinstance(domid, bool) else None,
        name=str(c_info.get("name", "")),
        uuid=c_info.get("uuid"),
        type=c_info.get("type"),
        max_vcpus=int(b_info.get("max_vcpus", 0) or 0),
        memory_mib=int(b_info.get("target_memkb", 0) or 0) // 1024,
        max_memory_mib=int(b_info.get("max_memkb", 0) or 0) // 1024,
        disks=disks,
        nics=nics,
        vnc=vnc,
        config=config,
    )


def parse_xl_list_long(text: str) -> list[DomainDetail]:
    """Parse `xl list -l` JSON; also takes the bare config that `xl create -n` prints."""
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise errors.ParseError(f"xl list -l: output is not JSON ({exc})") from None
    items = data if isinstance(data, list) else [data]
    details = []
    for item in items:
        if not isinstance(item, dict):
            raise errors.ParseError("xl list -l: expected an array of objects")
        try:
            if "config" in item:
                details.append(_detail(item.get("domid"), _obj(item["config"])))
            else:
                details.append(_detail(None, item))
        except (TypeError, ValueError) as exc:
            raise errors.ParseError(f"xl list -l: unexpected value ({exc})") from None
    return details


# --- xl info -----------------------------------------------------------------------------------

_INFO_RE = re.compile(r"(\S+)\s*:\s?(.*)")


def _opt_int(values: dict[str, str], key: str) -> int | None:
    raw = values.get(key, "").strip()
    return int(raw) if raw.isdigit() else None


@dataclass(frozen=True)
class XlInfo:
    values: dict[str, str]
    host: str | None
    release: str | None
    nr_cpus: int | None
    total_memory_mib: int | None
    free_memory_mib: int | None
    virt_caps: frozenset[str]
    xen_version: str | None
    xen_commandline: str | None

    @property
    def hvm(self) -> bool:
        return "hvm" in self.virt_caps

    @property
    def hap(self) -> bool:
        return "hap" in self.virt_caps

    @property
    def iommu(self) -> bool:
        """True when Xen reports directio, which it sets only when the IOMMU is enabled."""
        return bool({"hvm_directio", "pv_directio"} & self.virt_caps)


def parse_xl_info(text: str) -> XlInfo:
    """Parse `xl info` `key : value` lines (key padded to 23 columns)."""
    values: dict[str, str] = {}
    last: str | None = None
    for line in text.splitlines():
        match = _INFO_RE.fullmatch(line.rstrip())
        if match:
            last = match[1] if match[1] not in values else None
            values.setdefault(match[1], match[2].strip())
        elif last is not None and line[:1].isspace() and line.strip():
            # An indented line continues the value above it (a long xen_commandline).
            values[last] = f"{values[last]} {line.strip()}".strip()
        else:
            last = None
    if not values:
        raise errors.ParseError("xl info: no 'key : value' lines in the output")
    return XlInfo(
        values=values,
        host=values.get("host"),
        release=values.get("release"),
        nr_cpus=_opt_int(values, "nr_cpus"),
        total_memory_mib=_opt_int(values, "total_memory"),
        free_memory_mib=_opt_int(values, "free_memory"),
        virt_caps=frozenset(values.get("virt_caps", "").split()),
        xen_version=values.get("xen_version"),
        xen_commandline=values.get("xen_commandline"),
    )


# --- zfs, zpool --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZfsVolume:
    name: str
    volsize: int | None = None
    used: int | None = None
    referenced: int | None = None
    available: int | None = None
    refreservation: int | None = None
    volmode: str | None = None


@dataclass(frozen=True)
class ZpoolRow:
    name: str
    size: int | None
    alloc: int | None
    free: int | None
    health: str


_ZFS_TEXT_COLUMNS = {"name", "volmode", "health"}


def _zfs_value(column: str, raw: str, tool: str) -> str | int | None:
    if raw == "-":
        return None
    if column in _ZFS_TEXT_COLUMNS:
        return raw
    if not raw.isdigit():
        raise errors.ParseError(f"{tool}: column {column} is not a number: {raw!r}")
    return int(raw)


def _tab_rows(text: str, columns: Sequence[str], tool: str) -> list[dict[str, Any]]:
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(columns):
            raise errors.ParseError(
                f"{tool}: expected {len(columns)} tab-separated columns, got {len(cells)}: {line!r}"
            )
        rows.append({c: _zfs_value(c, v, tool) for c, v in zip(columns, cells, strict=True)})
    return rows


def parse_zfs_list(text: str, columns: Sequence[str] = VOLUME_COLUMNS) -> list[ZfsVolume]:
    """Parse `zfs list -H -p -o <columns>` (one TAB between fields, `-` for unreadable)."""
    unknown = set(columns) - set(VOLUME_COLUMNS)
    if unknown or "name" not in columns:
        raise ValueError(f"columns must include name and be among {VOLUME_COLUMNS}")
    return [ZfsVolume(**row) for row in _tab_rows(text, columns, "zfs list")]


def parse_zpool_list(text: str) -> list[ZpoolRow]:
    """Parse `zpool list -H -p -o name,size,alloc,free,health`."""
    return [ZpoolRow(**row) for row in _tab_rows(text, ZPOOL_COLUMNS, "zpool list")]


def parse_zfs_get(text: str) -> dict[str, str | None]:
    """Parse `zfs get -H -p -o property,value`; `-` (not applicable) becomes None."""
    values: dict[str, str | None] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        prop, sep, value = line.partition("\t")
        if not sep:
            raise errors.ParseError(f"zfs get: expected 'property<TAB>value', got {line!r}")
        values[prop] = None if value == "-" else value
    return values


def parse_fetch_size(text: str) -> int | None:
    """Parse `fetch -s`: a byte count, or None when the server reports `Unknown`."""
    value = text.strip()
    if value == "Unknown":
        return None
    if value.isdigit():
        return int(value)
    raise errors.ParseError(f"fetch -s: expected a size or 'Unknown', got {value!r}")


def parse_sysctl(text: str) -> list[str]:
    """Parse `sysctl -n a b ...`: one value per line, in order."""
    return text.splitlines()


def parse_sysrc(text: str) -> list[str]:
    """Parse `sysrc -n a b ...`: one value per line, in order."""
    return text.splitlines()


# --- moving domUs between Dom0s (issue 14): dom0/migration_parsers.py --------------------------
from dom0.migration_parsers import (  # noqa: E402
    MigrationOutcome,
    MigrationPhase,
    MigrationProgress,
    SendEstimate,
    SendProgress,
    SendStream,
    parse_receive_resume_token,
    parse_xl_migrate_progress,
    parse_zfs_send_estimate,
    parse_zfs_send_progress,
    read_zfs_send_progress,
)

__all__ += [
    "MigrationOutcome",
    "MigrationPhase",
    "MigrationProgress",
    "SendEstimate",
    "SendProgress",
    "SendStream",
    "parse_receive_resume_token",
    "parse_xl_migrate_progress",
    "parse_zfs_send_estimate",
    "parse_zfs_send_progress",
    "read_zfs_send_progress",
]
