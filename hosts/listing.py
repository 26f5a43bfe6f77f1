"""What a host's `xl list` becomes in the panel: plain rows and the domU totals kept in its facts.

The refresh job and every domU job that reads `xl list` back store the same shape, so both go
through here.
"""

from __future__ import annotations

from typing import Any

from dom0.parsers import DomainRow


def listing_row(row: DomainRow) -> dict[str, Any]:
    """Return a parsed `xl list` row as the plain dict the host facts keep."""
    state = row.state
    return {
        "name": row.name,
        "domid": row.domid,
        "mem_mib": row.mem_mib,
        "vcpus": row.vcpus,
        "state": str(getattr(state, "value", state)),
        "state_letters": row.state_letters,
        "cpu_seconds": row.cpu_seconds,
    }


def domu_totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Return how many domUs the rows hold and the memory and vCPUs they take."""
    domus = [r for r in rows if r["domid"] != 0]
    return {
        "domu_count": len(domus),
        "domu_memory_mib": sum(r["mem_mib"] for r in domus),
        "domu_vcpus": sum(r["vcpus"] for r in domus),
    }
