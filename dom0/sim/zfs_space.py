"""Space accounting of the simulated pool and the property values `zfs list/get` print.

A volume's data is the content of its device node `/dev/zvol/<name>` (an empty marker file until
someone writes to it), cut into volblocksize blocks; a block of zeros is a hole. A snapshot keeps
a copy of that content (zfs_data.py). On top of the blocks, every dataset has a `referenced`
base: metadata plus bytes the simulator only counts (a seeded volume "has" 3 GiB without a 3 GiB
file). Base bytes are never overwritten, so they are shared by a volume, its snapshots and its
clones for ever; only written blocks move between them.

The model follows ZFS's accounting (zfsprops(7) `used`, `usedbysnapshots`, `usedbyrefreservation`):
- used = usedbydataset + usedbysnapshots + usedbyrefreservation + the children's used;
- usedbydataset: everything live, less what a clone shares with its origin snapshot;
- usedbysnapshots: block versions only snapshots still hold (overwritten since);
- usedbyrefreservation: refreservation less what was written since the latest snapshot, so a
  snapshot of a thick volume costs its referenced bytes again (what ZFS does);
- a snapshot's used is what only it holds: versions written after the previous snapshot and
  overwritten before the next one (0 when taken; it grows as the volume is written over).
`available` is the pool size less 1/32 slop (as ZFS keeps back) less the pool's used.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .state import State
from .zfsnames import VOLBLOCKSIZE, nicenum

Dataset = dict[str, Any]
Blocks = dict[int, bytes]
#: Returns the bytes of a volume or snapshot (b"" for none).
Reader = Callable[[str, Dataset], bytes]

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
    "origin",
    "readonly",
    "usedbysnapshots",
    "usedbydataset",
    "usedbyrefreservation",
    "written",
    "guid",
    "receive_resume_token",
)
ALIASES = {"avail": "available", "refer": "referenced", "refreserv": "refreservation"}
ALIASES |= {"reserv": "reservation", "rdonly": "readonly", "usedsnap": "usedbysnapshots"}
ALIASES |= {"usedds": "usedbydataset", "usedrefreserv": "usedbyrefreservation"}
SIZE_PROPS = {"used", "available", "referenced", "volsize", "refreservation", "reservation"}
SIZE_PROPS |= {"volblocksize", "usedbysnapshots", "usedbydataset", "usedbyrefreservation"}
SIZE_PROPS |= {"written"}


def is_snapshot(name: str) -> bool:
    return "@" in name


def children(state: State, name: str) -> list[str]:
    """Return every descendant of `name` (datasets below it and all their snapshots), sorted."""
    prefix = name + "/"
    return sorted(n for n in state["datasets"] if n.startswith(prefix))


def snapshots_of(state: State, name: str) -> list[str]:
    """Return the snapshots of one dataset, oldest first (by createtxg)."""
    prefix = name + "@"
    snaps = [n for n in state["datasets"] if n.startswith(prefix)]
    return sorted(snaps, key=lambda n: int(state["datasets"][n]["createtxg"]))


def clones_of(state: State, snapshot: str) -> list[str]:
    return sorted(n for n, ds in state["datasets"].items() if ds.get("origin") == snapshot)


def new_dataset(kind: str, volsize: int = 0, sparse: bool = False) -> Dataset:
    return {
        "type": kind,
        "volsize": volsize,
        "refreservation": 0 if sparse or kind != "volume" else volsize,
        "referenced": EMPTY_REFERENCED,
        "props": {},
        "creation": int(time.time()),
    }


def _split(data: bytes, block: int) -> Blocks:
    out: Blocks = {}
    for index in range(0, len(data), block):
        chunk = data[index : index + block]
        if chunk.strip(b"\0"):
            out[index // block] = chunk.ljust(block, b"\0")
    return out


class Space:
    """The space figures of one state; block contents are read once per command through `read`."""

    def __init__(self, state: State, read: Reader | None = None) -> None:
        self.state = state
        self.read = read
        self._blocks: dict[str, Blocks] = {}
        self._used: dict[str, int] = {}

    def ds(self, name: str) -> Dataset:
        dataset: Dataset = self.state["datasets"][name]
        return dataset

    def block_size(self, name: str) -> int:
        return int(self.ds(name)["props"].get("volblocksize", VOLBLOCKSIZE))

    def blocks(self, name: str) -> Blocks:
        if name not in self._blocks:
            ds = self.ds(name)
            data = self.read(name, ds) if self.read is not None else b""
            self._blocks[name] = _split(data, self.block_size(name))
        return self._blocks[name]

    def _origin_blocks(self, name: str) -> Blocks:
        origin = self.ds(name).get("origin")
        return self.blocks(origin) if origin and origin in self.state["datasets"] else {}

    def _bytes(self, name: str, count: int) -> int:
        return count * self.block_size(name)

    def referenced(self, name: str) -> int:
        return int(self.ds(name)["referenced"]) + self._bytes(name, len(self.blocks(name)))

    def usedbydataset(self, name: str) -> int:
        if is_snapshot(name):
            return 0
        if not self.ds(name).get("origin"):
            return self.referenced(name)
        origin = self._origin_blocks(name)
        live = self.blocks(name)
        fresh = sum(1 for b, data in live.items() if origin.get(b) != data)
        return EMPTY_REFERENCED + self._bytes(name, fresh)

    def usedbysnapshots(self, name: str) -> int:
        if is_snapshot(name):
            return 0
        live, origin = self.blocks(name), self._origin_blocks(name)
        held = {
            (b, data)
            for snap in snapshots_of(self.state, name)
            for b, data in self.blocks(snap).items()
            if live.get(b) != data and origin.get(b) != data
        }
        return self._bytes(name, len(held))

    def written(self, name: str) -> int:
        """Bytes written since the latest snapshot (or since the origin, for a clone)."""
        snaps = snapshots_of(self.state, name)
        if not snaps and not self.ds(name).get("origin"):
            return self.referenced(name)
        base = self.blocks(snaps[-1]) if snaps else self._origin_blocks(name)
        live = self.blocks(name)
        changed = {b for b in set(base) | set(live) if base.get(b) != live.get(b)}
        return self._bytes(name, len(changed))

    def usedbyrefreservation(self, name: str) -> int:
        refres = int(self.ds(name).get("refreservation", 0))
        return max(0, refres - self.written(name)) if refres else 0

    def snapshot_used(self, snap: str) -> int:
        """What only this snapshot holds: born after the previous one, gone before the next."""
        dataset = snap.split("@", 1)[0]
        chain = snapshots_of(self.state, dataset)
        index = chain.index(snap)
        before = self.blocks(chain[index - 1]) if index else self._origin_blocks(dataset)
        after = self.blocks(chain[index + 1]) if index + 1 < len(chain) else self.blocks(dataset)
        mine = self.blocks(snap)
        unique = sum(1 for b, d in mine.items() if before.get(b) != d and after.get(b) != d)
        return self._bytes(snap, unique)

    def used(self, name: str) -> int:
        if is_snapshot(name):
            return self.snapshot_used(name)
        if name not in self._used:
            own = self.usedbydataset(name) + self.usedbysnapshots(name)
            own += self.usedbyrefreservation(name)
            prefix = name + "/"
            kids = [
                n
                for n in self.state["datasets"]
                if n.startswith(prefix) and "/" not in n[len(prefix) :] and not is_snapshot(n)
            ]
            self._used[name] = own + sum(self.used(kid) for kid in kids)
        return self._used[name]

    def available(self) -> int:
        pool = self.state["pool"]
        size: int = pool["size"]
        return max(0, size - size // 32 - self.used(pool["name"]))

    def allocated(self) -> int:
        """Bytes really written in the pool (zpool's alloc): no reservations."""
        return sum(
            self.usedbydataset(n) + self.usedbysnapshots(n)
            for n in self.state["datasets"]
            if not is_snapshot(n)
        )

    def raw_value(self, name: str, prop: str) -> int | str | None:
        """Return a property's exact value, or None where it does not apply (printed `-`)."""
        ds = self.ds(name)
        snap = ds["type"] == "snapshot"
        vol = ds["type"] == "volume" or (snap and "volsize" in ds)
        head = self.ds(name.split("@", 1)[0]) if snap else ds
        if prop == "used":
            return self.used(name)
        if prop == "available":
            return None if snap else self.available()
        if prop == "referenced":
            return self.referenced(name)
        if prop in ("usedbysnapshots", "usedbydataset", "usedbyrefreservation"):
            return None if snap else int(getattr(self, prop)(name))
        if prop == "written":
            return self.written(name) if not snap else None
        if prop == "guid":
            # The sim keeps 128-bit hex ids; zfs prints a 64-bit number (snapshots only here).
            return int(ds["guid"][:16], 16) if snap and ds.get("guid") else None
        if prop == "receive_resume_token":
            return None if snap else ds.get("resume_token")
        values: dict[str, int | str | None] = {
            "name": name,
            "type": ds["type"],
            "volsize": int(ds["volsize"]) if vol else None,
            "refreservation": None if snap else int(ds.get("refreservation", 0)),
            "reservation": None if snap else 0,
            "volmode": head["props"].get("volmode", "default") if vol and not snap else None,
            "mountpoint": None if vol or snap else ds["props"].get("mountpoint", "/" + name),
            "creation": int(ds["creation"]),
            "volblocksize": int(head["props"].get("volblocksize", VOLBLOCKSIZE)) if vol else None,
            "compression": head["props"].get("compression", "lz4"),
            "origin": ds.get("origin") or None,
            "readonly": None if snap else ds["props"].get("readonly", "off"),
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
    if ds["type"] == "snapshot":
        return "-" if prop not in ("compression", "volmode") else "default"
    if prop in ("volsize",) and ds["type"] == "volume":
        return "local"
    if prop == "refreservation":
        return "local" if ds.get("refreservation") else "default"
    if prop in ds["props"]:
        return "local"
    if prop in ("volmode", "mountpoint", "compression", "reservation", "volblocksize"):
        return "default"
    if prop == "readonly":
        return "default"
    return "-"
