"""The columns of each list and the fields of a job, as the terminal shows them.

Keys follow the API's representations (docs/api.md); a key a panel does not send shows `-`.
"""

from __future__ import annotations

from typing import Any

from xenpanel_cli.output import Column, Getter, dig, size, text
from xenpanel_cli.resolve import host_label, volume_name


def _memory(row: dict[str, Any]) -> str:
    free, total = row.get("free_memory_mib"), row.get("total_memory_mib")
    if free is None and total is None:
        return "-"
    return f"{text(free)}/{text(total)}"


def _readiness(row: dict[str, Any]) -> str:
    passed, total = row.get("readiness_passed"), row.get("readiness_total")
    return "-" if total in (None, 0) else f"{passed}/{total}"


def _bytes(key: str) -> Any:
    return lambda row: size(dig(row, key)) if dig(row, key) is not None else row.get("size")


HOSTS = [
    Column("NAME", "name"),
    Column("STATUS", "status"),
    Column("TRANSPORT", "transport"),
    Column("ADDRESS", "address"),
    Column("XEN", "xen_version"),
    Column("CPUS", "nr_cpus", ">"),
    Column("FREE/TOTAL MiB", _memory, ">"),
    Column("DOMUS", "domu_count", ">"),
    Column("READY", _readiness, ">"),
    Column("CODE", "code"),
]

DOMAINS = [
    Column("NAME", "name"),
    Column("HOST", host_label),
    Column("STATE", "state"),
    Column("MEM MiB", "memory_mb", ">"),
    Column("VCPUS", "vcpus", ">"),
    Column("OWNER", "owner"),
    Column("CODE", "code"),
]

VOLUMES = [
    Column("NAME", volume_name),
    Column("HOST", host_label),
    Column("SIZE", _bytes("size_bytes"), ">"),
    Column("STATE", "state"),
    Column("USED BY", lambda r: dig(r, "in_use_by.name") or dig(r, "used_by.name")),
    Column("OWNER", "owner"),
    Column("CODE", "code"),
]

ISOS = [
    Column("FILE", "file_name"),
    Column("HOST", host_label),
    Column("SIZE", _bytes("size_bytes"), ">"),
    Column("STATE", "state"),
    Column("SOURCE", "source"),
    Column("OWNER", "owner"),
    Column("CODE", "code"),
]

JOBS = [
    Column("CREATED", lambda r: str(r.get("created_at") or "")[:19].replace("T", " ")),
    Column("STATUS", "status"),
    Column("%", "progress", ">"),
    Column("KIND", "kind"),
    Column("TITLE", "title"),
    Column("BY", "requested_by"),
    Column("CODE", "code"),
]

JOB_FIELDS: list[tuple[str, str | Getter]] = [
    ("code", "code"),
    ("title", "title"),
    ("kind", "kind"),
    ("target", "target_label"),
    ("status", "status"),
    ("progress", lambda j: f"{j.get('progress')}%" if j.get("progress") is not None else None),
    ("message", "message"),
    ("error", "error"),
    ("requested by", "requested_by"),
    ("created", "created_at"),
    ("started", "started_at"),
    ("finished", "finished_at"),
    ("page", "page"),
]

STEPS = [
    Column("#", "seq", ">"),
    Column("STATUS", "status"),
    Column("RC", "rc", ">"),
    Column(
        "SECONDS", lambda s: f"{s['seconds']:.1f}" if s.get("seconds") is not None else "-", ">"
    ),
    Column("STEP", "label"),
    Column("COMMAND", lambda s: " ".join(str(a) for a in s.get("argv") or [])),
]
