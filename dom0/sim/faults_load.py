"""Fake conditions the alert rules watch: a filling pool, a crashed domU (tests and the demo).

`fill_pool(sim, 85)` makes `zpool list` show the pool 85 % allocated by giving the pool's root
dataset extra `referenced` bytes (the same base bytes a seeded volume "has" without a file);
`free_pool(sim)` takes them back. `crash_domain(sim, "web1")` leaves the domU as Xen leaves a
crashed one without on_crash=destroy: `---sc-` in `xl list`. An unreachable host is
`sim.set_faults(unreachable=True)` (host.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import domains, zfs_data
from .result import CommandExit
from .zfs_space import Space

if TYPE_CHECKING:
    from .host import SimHost

#: Where the filler's bytes are remembered, so free_pool can take exactly them back.
FILL_KEY = "fill_bytes"
#: xl's shutdown reason code for a crash (SHUTDOWN_crash; "c" in domains._REASON_LETTERS).
CRASH_REASON = 3


def fill_pool(sim: SimHost, percent: float) -> int:
    """Make the pool `percent` % allocated (as `zpool list` shows it); returns the filler bytes."""
    if not 0 <= percent <= 100:
        raise ValueError("percent must be within 0..100")
    with sim.store.edit() as state:
        pool = state["pool"]
        root = state["datasets"][pool["name"]]
        root["referenced"] = int(root["referenced"]) - int(pool.get(FILL_KEY, 0))
        pool[FILL_KEY] = 0
        allocated = Space(state, zfs_data.reader(sim)).allocated()
        extra = max(0, int(pool["size"] * percent / 100) - allocated)
        root["referenced"] = int(root["referenced"]) + extra
        pool[FILL_KEY] = extra
        return extra


def free_pool(sim: SimHost) -> None:
    """Take back what fill_pool added."""
    with sim.store.edit() as state:
        pool = state["pool"]
        root = state["datasets"][pool["name"]]
        root["referenced"] = int(root["referenced"]) - int(pool.pop(FILL_KEY, 0))


def crash_domain(sim: SimHost, name: str) -> None:
    """DomU `name` crashes: it stays in `xl list` as ---sc- until destroyed."""
    now = sim.now()
    with sim.store.edit() as state:
        dom = domains.by_name(state, name)
        if dom is None:
            raise CommandExit(1, f"{name} is not a domain on {state['hostname']}")
        if dom.get("run_since") is not None:
            domains.stop_clock(dom, now)
        dom["shutdown_reason"] = CRASH_REASON
