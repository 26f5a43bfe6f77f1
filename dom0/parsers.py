"""Turn tool output into typed values, and tool failures into typed errors.

Formats follow `xen-cli-facts.md`; each parser raises `ParseError` on output it does not
recognise rather than guessing.
"""

from __future__ import annotations

import enum
import json
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dom0 import errors
from dom0.commands import VOLUME_COLUMNS, ZPOOL_COLUMNS
from dom0.validate import redact_url

__all__ = [
    "DiskInfo",
    "DomainDetail",
    "DomainRow",
    "DomainState",
    "NicInfo",
    "VncInfo",
    "XlInfo",
    "ZfsVolume",
    "ZpoolRow",
    "check",
    "check_result",
    "classify_error",
    "parse_fetch_size",
    "parse_sysctl",
    "parse_sysrc",
    "parse_xl_info",
    "parse_xl_list",
    "parse_xl_list_long",
    "parse_zfs_get",
    "parse_zfs_list",
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


_XL_HEADER_RE = re.compile(r"Name\s+ID\s+Mem\s+VCPUs\s+State\s+Time\(s\)")
_XL_ROW_RE = re.compile(
    r"(?P<name>.+?)\s+(?P<id>\d+)\s+(?P<mem>\d+)\s+(?P<vcpus>\d+)\s+"
    r"(?P<state>[r-][b-][p-][s-][-rscwS?][d-])\s+(?P<time>\d+\.\d+)"
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
    for line in text.splitlines():
        match = _INFO_RE.fullmatch(line.rstrip())
        if match:
            values.setdefault(match[1], match[2].strip())
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


# --- errors ------------------------------------------------------------------------------------

_XL_BAD_NAME_RE = re.compile(r"^(?P<dom>.+?) is an invalid domain identifier", re.M)
_XL_BAD_ID_RE = re.compile(r"Domain '(?P<dom>[^']*)' does not exist")
_XL_NAME_USED_RE = re.compile(r'Domain with name "(?P<name>[^"]*)" already exists')
_XL_NOMEM_RE = re.compile(
    r"Cannot allocate memory|failed to free memory|cannot \(re-\)build domain: -5\b"
)
# A missing xl.conf is only a warning: xl prints this line for it and carries on (facts §1.4).
_XL_CFG_READ_RE = re.compile(
    r"Failed to read config file: (?P<path>(?!\S*/xl\.conf:).+?): (?P<why>.+)$", re.M
)
_XL_CFG_PARSE_RE = re.compile(r"^.*config parsing error.*$", re.M)
_ZFS_RE = re.compile(r"cannot (?P<action>[a-z]+) '(?P<ds>[^']*)': (?P<why>.+)$", re.M)
_FETCH_RE = re.compile(r"^fetch: (?:(?P<subject>\S+): )?(?P<reason>.+)$", re.M)
_RESOLVER_REASONS = (
    "No address record",
    "Host not found",
    "Transient resolver failure",
    "Non-recoverable resolver failure",
)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def classify_error(argv: Sequence[str], rc: int, stdout: str, stderr: str) -> errors.Dom0Error:
    """Return the typed error for a failed command, with a one-sentence message and a hint."""
    tool = posixpath.basename(argv[0]) if argv else ""
    kw: dict[str, Any] = {"argv": argv, "rc": rc, "stderr": stderr}
    if tool == "xl":
        found = _classify_xl(stderr, kw)
    elif tool in ("zfs", "zpool"):
        found = _classify_zfs(stderr, kw)
    elif tool == "fetch":
        found = _classify_fetch(stderr, kw)
    else:
        found = None
    if found is not None:
        return found
    if rc == 127 or "not found" in _last_line(stderr) and "command" in _last_line(stderr):
        return errors.CommandFailed(
            f"The command '{tool}' is not installed on the host",
            hint="Install the package that provides it (see the readiness checklist).",
            **kw,
        )
    detail = _last_line(stderr) or _last_line(stdout) or "no output"
    shown = " ".join([tool, *[redact_url(a) for a in argv[1:2]]]) if argv else "command"
    return errors.CommandFailed(
        f"'{shown}' failed with exit code {rc}: {detail}",
        hint="See the command output in the job log.",
        **kw,
    )


def _classify_xl(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    if "cannot init xl context" in stderr:
        return errors.XenNotRunning(
            "Xen is not running on the host (xl cannot connect to the hypervisor)",
            hint="Boot the host into Xen and start xencommons (service xencommons start).",
            **kw,
        )
    match = _XL_BAD_NAME_RE.search(stderr) or _XL_BAD_ID_RE.search(stderr)
    if match or "Non-existant domain" in stderr:
        dom = match["dom"] if match else (kw["argv"][-1] if kw["argv"] else "?")
        return errors.DomainNotFound(
            f"Domain '{dom}' does not exist on the host",
            hint="Refresh the host's domain list; it may have stopped or been destroyed.",
            **kw,
        )
    if match := _XL_NAME_USED_RE.search(stderr):
        return errors.DomainNameInUse(
            f"A domain named '{match['name']}' already exists on the host",
            hint="Choose another name, or destroy the existing domain first.",
            **kw,
        )
    if _XL_NOMEM_RE.search(stderr):
        return errors.OutOfMemory(
            "The hypervisor does not have enough free memory for this domain",
            hint=(
                "Give the domU less memory or stop another domU; check memorylocked=unlimited "
                "in /etc/login.conf (then cap_mkdb /etc/login.conf)."
            ),
            **kw,
        )
    if match := _XL_CFG_READ_RE.search(stderr):
        return errors.RemoteFileMissing(
            f"xl could not read the config file {match['path']}: {match['why']}",
            hint="Write the domain's configuration to the host again.",
            **kw,
        )
    if match := re.search(r"Cannot stat file: (?P<path>.+)$", stderr, re.M):
        return errors.RemoteFileMissing(
            f"The file {match['path']} does not exist on the host",
            hint="Check that the ISO image is still in the host's ISO directory.",
            **kw,
        )
    if match := _XL_CFG_PARSE_RE.search(stderr):
        return errors.CommandFailed(
            f"xl rejected the domain configuration: {match[0].strip()}",
            hint="Fix the configuration and save it again.",
            **kw,
        )
    if "PV control interface not available" in stderr:
        return errors.CommandFailed(
            "The domain has no PV drivers, so it cannot be asked to shut down or reboot",
            hint="Use the forced action (an ACPI button press), or shut it down from inside.",
            **kw,
        )
    return None


def _classify_zfs(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    match = _ZFS_RE.search(stderr)
    if not match:
        return None
    ds, why = match["ds"], match["why"].strip()
    if "dataset already exists" in why:
        return errors.DatasetExists(
            f"The ZFS dataset '{ds}' already exists",
            hint="Choose another volume name, or use the existing volume.",
            **kw,
        )
    if "dataset is busy" in why:
        return errors.DatasetBusy(
            f"The ZFS volume '{ds}' is in use",
            hint="Stop the domU that uses this volume first.",
            **kw,
        )
    if any(s in why for s in ("dataset does not exist", "no such pool", "parent does not exist")):
        return errors.DatasetMissing(
            f"The ZFS dataset '{ds}' cannot be used: {why}",
            hint="Refresh the host's volume list and check the pool and parent dataset names.",
            **kw,
        )
    if "out of space" in why:
        return errors.PoolFull(
            f"The ZFS pool has no room for '{ds}'",
            hint="Choose a smaller size, a sparse volume, or free space on the pool.",
            **kw,
        )
    return None


def _classify_fetch(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    matches = list(_FETCH_RE.finditer(stderr))
    if not matches:
        return None
    reason = matches[-1]["reason"].strip()
    urls = [a for a in kw["argv"] if "://" in a]
    where = redact_url(urls[-1]) if urls else "the file"
    if reason in _RESOLVER_REASONS:
        hint = "Check the host name in the URL and the Dom0's DNS settings."
    elif "timed out" in reason:
        hint = "Try again later, or raise the download timeout."
    elif reason in ("Not Found", "Forbidden", "Gone"):
        hint = "Check the URL; the server does not offer this file."
    else:
        hint = "Check the URL and the Dom0's network connection."
    return errors.FetchFailed(f"Could not download {where}: {reason}", hint=hint, **kw)


class _HasOutput(Protocol):
    rc: int
    stdout: str
    stderr: str


def check(argv: Sequence[str], rc: int, stdout: str, stderr: str) -> str:
    """Return stdout, or raise the classified error when `rc` is not 0."""
    if rc != 0:
        raise classify_error(argv, rc, stdout, stderr)
    return stdout


def check_result(argv: Sequence[str], result: _HasOutput) -> str:
    """`check` for a transport `Result` (anything with rc, stdout and stderr)."""
    return check(argv, result.rc, result.stdout, result.stderr)
