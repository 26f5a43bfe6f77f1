"""Domain records in the host state: lookup, run state letters, cpu time and VNC ports.

A domU is reported running (`r-----`) for its first RUNNING_SECONDS after it was created or
unpaused and idle (`-b----`) afterwards, like an installer waiting at a prompt. Cpu time is
derived from wall time, so it grows between two `xl list` calls without anything ticking.
"""

from __future__ import annotations

from typing import Any

from .result import CommandExit
from .state import State

Domain = dict[str, Any]

RUNNING_SECONDS = 2.0
_IDLE_CPU_PER_VCPU = 0.02
_DOM0_CPU_PER_SECOND = 0.25
_REASON_LETTERS = "-rscwS"


def domus(state: State) -> list[Domain]:
    """Return the domUs ordered by id."""
    return sorted(state["domains"].values(), key=lambda d: d["domid"])


def by_name(state: State, name: str) -> Domain | None:
    dom: Domain | None = state["domains"].get(name)
    return dom


def by_id(state: State, domid: int) -> Domain | None:
    return next((d for d in state["domains"].values() if d["domid"] == domid), None)


def find_domain(state: State, arg: str) -> tuple[int, Domain | None]:
    """Resolve a domain argument like xl's find_domain(): digits are an id taken on trust.

    Returns (domid, record); record is None for Domain-0 and for an id that does not exist.
    """
    if arg.isdigit():
        domid = int(arg)
        return domid, by_id(state, domid)
    if arg == "Domain-0":
        return 0, None
    dom = by_name(state, arg)
    if dom is None:
        raise CommandExit(1, f"{arg} is an invalid domain identifier (rc=-6)")
    return dom["domid"], dom


def state_letters(dom: Domain, now: float) -> str:
    if dom.get("shutdown_reason") is not None:
        reason = dom["shutdown_reason"]
        letter = _REASON_LETTERS[reason] if 0 <= reason < len(_REASON_LETTERS) else "?"
        return f"---s{letter}-"
    if dom["paused"]:
        return "--p---"
    if dom["run_since"] is not None and now - dom["run_since"] < RUNNING_SECONDS:
        return "r-----"
    return "-b----"


def cpu_seconds(dom: Domain, now: float) -> float:
    total: float = dom["cpu_acc"]
    if dom["run_since"] is not None and not dom["paused"]:
        elapsed = max(0.0, now - dom["run_since"])
        busy = min(elapsed, RUNNING_SECONDS)
        total += busy + (elapsed - busy) * _IDLE_CPU_PER_VCPU * dom["vcpus"]
    return total


def stop_clock(dom: Domain, now: float) -> None:
    """Fold the running time into the accumulated cpu time (before a pause or shutdown)."""
    dom["cpu_acc"] = cpu_seconds(dom, now)
    dom["run_since"] = None


def dom0_cpu_seconds(state: State, now: float) -> float:
    boot_time: float = state["boot_time"]
    vcpus: int = state["dom0_vcpus"]
    return 0.4 + max(0.0, now - boot_time) * _DOM0_CPU_PER_SECOND * vcpus


def free_memory_mib(state: State) -> int:
    used = sum(d["memory"] for d in state["domains"].values())
    return int(state["total_mem_mib"] - state["dom0_mem_mib"] - used)


def allocate_vnc_port(state: State, display: int, findunused: bool) -> int | None:
    """Pick the port QEMU would bind: `-vnc :display[,to=99]` among this host's domUs."""
    taken = {d["vnc_port"] for d in state["domains"].values() if d.get("vnc_port")}
    first = 5900 + display
    candidates = range(first, first + 100) if findunused else range(first, first + 1)
    return next((port for port in candidates if port not in taken), None)


def disk_users(state: State, host_path: str) -> list[Domain]:
    """Return the domUs that have `host_path` as a disk target (blkback holds it open)."""
    return [
        d
        for d in state["domains"].values()
        if any(disk["target"] == host_path for disk in d["disks"])
    ]
