"""Space accounting of the simulated pool and the property values `zfs list/get` print.

A volume is charged max(referenced, refreservation); a non-sparse volume reserves its whole
size, a sparse one nothing. `available` is the pool size less 1/32 slop (as ZFS keeps back) less
everything charged. zpool's `alloc` counts only data really written (the `referenced` bytes).
"""

from __future__ import annotations

import time
from typing import Any

from .state import State
from .zfsnames import VOLBLOCKSIZE, nicenum

Dataset = dict[str, Any]

#: The bytes a fresh dataset references (metadata only).
EMPTY_REFERENCED = 57344

PROPS = (
    "name",
    "type",
    "used",
    "available",
    "referenced",
    "volsize",
    "refreservation",
    "reservation",
    "volmode",
    "mountpoint",
    "creation",
    "volblocksize",
    "compression",
)
ALIASES = {"avail": "available", "refer": "referenced", "refreserv": "refreservation"}
ALIASES |= {"reserv": "reservation"}
SIZE_PROPS = {"used", "available", "referenced", "volsize", "refreservation", "reservation"}
SIZE_PROPS |= {"volblocksize"}


def children(state: State, name: str) -> list[str]:
    prefix = name + "/"
    return sorted(n for n in state["datasets"] if n.startswith(prefix))


def _charged(ds: Dataset) -> int:
    return max(int(ds["referenced"]), int(ds.get("refreservation", 0)))


def used(state: State, name: str) -> int:
    return _charged(state["datasets"][name]) + sum(
        _charged(state["datasets"][child]) for child in children(state, name)
    )


def available(state: State) -> int:
    pool = state["pool"]
    return max(0, pool["size"] - pool["size"] // 32 - used(state, pool["name"]))


def allocated(state: State) -> int:
    return sum(int(ds["referenced"]) for ds in state["datasets"].values())


def new_dataset(kind: str, volsize: int = 0, sparse: bool = False) -> Dataset:
    return {
        "type": kind,
        "volsize": volsize,
        "refreservation": 0 if sparse or kind != "volume" else volsize,
        "referenced": EMPTY_REFERENCED,
        "props": {},
        "creation": int(time.time()),
    }


def raw_value(state: State, name: str, prop: str) -> int | str | None:
    """Return a property's exact value, or None where it does not apply (printed `-`)."""
    ds = state["datasets"][name]
    is_vol = ds["type"] == "volume"
    values: dict[str, int | str | None] = {
        "name": name,
        "type": ds["type"],
        "used": used(state, name),
        "available": available(state),
        "referenced": int(ds["referenced"]),
        "volsize": int(ds["volsize"]) if is_vol else None,
        "refreservation": int(ds.get("refreservation", 0)),
        "reservation": 0,
        "volmode": ds["props"].get("volmode", "default") if is_vol else None,
        "mountpoint": None if is_vol else ds["props"].get("mountpoint", "/" + name),
        "creation": int(ds["creation"]),
        "volblocksize": int(ds["props"].get("volblocksize", VOLBLOCKSIZE)) if is_vol else None,
        "compression": ds["props"].get("compression", "lz4"),
    }
    return values[prop]


def show(value: int | str | None, prop: str, parsable: bool) -> str:
    """Render a value as zfs does with or without -p."""
    if value is None:
        return "-"
    if parsable or not isinstance(value, int):
        return str(value)
    if prop == "creation":
        return time.strftime("%a %b %d %H:%M %Y", time.localtime(value))
    if prop in ("refreservation", "reservation") and value == 0:
        return "none"
    return nicenum(value) if prop in SIZE_PROPS else str(value)


def source(state: State, name: str, prop: str) -> str:
    ds = state["datasets"][name]
    if prop in ("volsize",) and ds["type"] == "volume":
        return "local"
    if prop == "refreservation":
        return "local" if ds.get("refreservation") else "default"
    if prop in ds["props"]:
        return "local"
    if prop in ("volmode", "mountpoint", "compression", "reservation", "volblocksize"):
        return "default"
    return "-"
