"""Fake load on simulated domUs, for `xentop` (xentop.py), the metrics tests and the demo.

`set_load(sim, "web1", cpu_pct=150, net_kbps=200, disk_kbps=1024)` makes domU web1 read as
using 1.5 physical CPUs, sending and receiving 200 KiB/s and reading and writing 1 MiB/s from
now on. Rates are stored with the time they were set and the counters they had reached, so
counters only ever grow while the load changes (state["load"][name]). They grow only while the
domU runs (not paused, not shut down); a domU that is stopped and started again begins at zero,
like a new Xen domain. Without a load a running domU idles: the CPU time of domains.cpu_seconds
(about 2 % per vCPU) and no I/O.

kbps here means KiB per second, xentop's own unit (NETTX(k), NETRX(k)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import domains
from .result import CommandExit

if TYPE_CHECKING:
    from .host import SimHost
    from .state import State

#: The rates a load sets, and the cumulative counters each one drives.
RATES = ("cpu_pct", "net_tx_kbps", "net_rx_kbps", "disk_read_kbps", "disk_write_kbps")
COUNTERS = ("cpu_seconds", "net_tx_kib", "net_rx_kib", "read_kib", "write_kib")


def set_load(
    sim: SimHost,
    name: str,
    *,
    cpu_pct: float | None = None,
    net_kbps: float | None = None,
    disk_kbps: float | None = None,
    net_tx_kbps: float | None = None,
    net_rx_kbps: float | None = None,
    disk_read_kbps: float | None = None,
    disk_write_kbps: float | None = None,
) -> None:
    """Set domU `name`'s load; a rate left None keeps its current value (0 at first).

    cpu_pct is xentop's CPU(%): percent of one physical CPU, at most 100 × the domU's vCPUs.
    net_kbps / disk_kbps set both directions; the specific arguments override them.
    """
    given = {
        "cpu_pct": cpu_pct,
        "net_tx_kbps": net_tx_kbps if net_tx_kbps is not None else net_kbps,
        "net_rx_kbps": net_rx_kbps if net_rx_kbps is not None else net_kbps,
        "disk_read_kbps": disk_read_kbps if disk_read_kbps is not None else disk_kbps,
        "disk_write_kbps": disk_write_kbps if disk_write_kbps is not None else disk_kbps,
    }
    if any(v is not None and v < 0 for v in given.values()):
        raise ValueError("a load rate cannot be negative")
    now = sim.now()
    with sim.store.edit() as state:
        dom = domains.by_name(state, name)
        if dom is None:
            raise CommandExit(1, f"{name} is not a domain on {state['hostname']}")
        record = _fold(state, dom, now)
        for key, value in given.items():
            if value is not None:
                record[key] = float(value)
        record["cpu_pct"] = min(record["cpu_pct"], 100.0 * dom["vcpus"])


def clear_load(sim: SimHost, name: str | None = None) -> None:
    """Forget the load of `name` (of every domU when None): back to idle, counters restart."""
    with sim.store.edit() as state:
        loads: dict[str, Any] = state.get("load", {})
        if name is None:
            loads.clear()
        else:
            loads.pop(name, None)


def counters(state: State, dom: dict[str, Any], now: float) -> dict[str, float]:
    """The domU's cumulative counters at `now` (CPU seconds include its idle time)."""
    out = dict.fromkeys(COUNTERS, 0.0)
    record = state.get("load", {}).get(dom["name"])
    if record is not None and record.get("domid") == dom["domid"]:
        out.update(record["acc"])
        running = _running_seconds(dom, record["since"], now)
        for rate, counter in zip(RATES, COUNTERS, strict=True):
            out[counter] += _extra_rate(record, rate) * running
    out["cpu_seconds"] += domains.cpu_seconds(dom, now)
    return out


def _running_seconds(dom: dict[str, Any], since: float, now: float) -> float:
    if dom["run_since"] is None or dom["paused"] or dom.get("shutdown_reason") is not None:
        return 0.0
    started: float = dom["run_since"]
    return max(0.0, now - max(since, started))


def _fold(state: State, dom: dict[str, Any], now: float) -> dict[str, Any]:
    """Return the domU's load record with its counters carried up to `now`."""
    loads: dict[str, Any] = state.setdefault("load", {})
    record = loads.get(dom["name"])
    if record is None or record.get("domid") != dom["domid"]:
        record = {"domid": dom["domid"], "acc": dict.fromkeys(COUNTERS, 0.0), "since": now}
        record.update(dict.fromkeys(RATES, 0.0))
        record["idle_pct"] = _idle_pct(dom["vcpus"])
    else:
        running = _running_seconds(dom, record["since"], now)
        for rate, counter in zip(RATES, COUNTERS, strict=True):
            record["acc"][counter] += _extra_rate(record, rate) * running
        record["since"] = now
    loads[dom["name"]] = record
    return record


def _extra_rate(record: dict[str, Any], rate: str) -> float:
    """Counter growth per running second on top of idling (CPU: seconds per second)."""
    if rate == "cpu_pct":
        # The knob is the total CPU(%); the idle part already counts in domains.cpu_seconds.
        return max(0.0, float(record["cpu_pct"]) - float(record["idle_pct"])) / 100.0
    return float(record[rate])


def _idle_pct(vcpus: int) -> float:
    """CPU(%) of an idle running domU, measured on domains.cpu_seconds itself."""
    probe = {"cpu_acc": 0.0, "run_since": 0.0, "paused": False, "vcpus": vcpus}
    late = domains.RUNNING_SECONDS + 10.0
    return float(
        100.0 * (domains.cpu_seconds(probe, late + 1.0) - domains.cpu_seconds(probe, late))
    )
