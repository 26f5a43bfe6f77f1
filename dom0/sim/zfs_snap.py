"""`zfs snapshot`, `zfs rollback`, `zfs clone` and `zfs promote` (docs/day2-cli-facts.md §1).

Texts and exit codes follow OpenZFS zfs_main.c (`zfs_do_snapshot`, `zfs_do_rollback`,
`rollback_check`, `zfs_do_clone`, `zfs_do_promote`) and libzfs_dataset.c (`zfs_snapshot_nvl`,
`zfs_clone`, `zfs_promote`, `check_parents`). A snapshot record sits in the dataset table under
"<dataset>@<snap>" with its createtxg; its data lives in zfs_data.py.

Rollback of a volume a running domU holds open is allowed, as in OpenZFS since 2017: the ioctl
suspends the zvol (zfs_ioctl.c `zfs_ioc_rollback` -> zvol_suspend) and passes it as the owner,
so dsl_dataset_handoff_check finds no foreign hold. Derived from the code, UNVERIFIED on a
FreeBSD host; the panel refuses a rollback of a running domU by itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import zfs_data, zfs_util
from .result import CommandExit, SimResult, ok
from .state import State
from .zfs_destroy import dependents, remove
from .zfs_space import Space, snapshots_of
from .zfs_util import busy, getopts, open_snapshot, usage
from .zfsnames import ZfsValueError, check_name

if TYPE_CHECKING:
    from .host import SimHost

_CLONE_PROPS = {"volmode", "compression", "mountpoint", "sync", "checksum", "readonly"}


def _next_txg(state: State) -> int:
    txg = int(state.get("next_txg", 1))
    state["next_txg"] = txg + 1
    return txg


def _snap_targets(state: State, args: list[str], recursive: bool) -> list[str]:
    wanted: list[str] = []
    for arg in args:
        if "@" not in arg:
            raise usage("snapshot")
        dataset, _, snapname = arg.partition("@")
        ds = state["datasets"].get(dataset)
        if ds is None or ds["type"] == "snapshot":
            raise usage("snapshot", f"cannot open '{dataset}': dataset does not exist")
        names = [arg]
        if recursive:
            names += [
                f"{child}@{snapname}"
                for child in sorted(state["datasets"])
                if child.startswith(dataset + "/") and "@" not in child
            ]
        wanted += [n for n in names if n not in wanted]
    return wanted


def _snap_problems(host: SimHost, state: State, wanted: list[str]) -> list[str]:
    for name in wanted:
        try:
            check_name(name, snapshots=True)
        except ZfsValueError as exc:
            return [f"cannot create snapshot '{name}': {exc}"]
    heads = [n.split("@", 1)[0] for n in wanted]
    if len(set(heads)) != len(heads):
        return ["cannot create snapshots : multiple snapshots of same fs not allowed"]
    existing = [n for n in wanted if n in state["datasets"]]
    if existing:
        return [f"cannot create snapshot '{n}': dataset already exists" for n in existing]
    # A snapshot of a volume with a refreservation must find room for what it freezes
    # (dsl_dataset_snapshot_reserve_space: MIN(unique bytes, reservation)).
    space = Space(state, zfs_data.reader(host))
    needed = sum(
        min(space.written(h), int(state["datasets"][h].get("refreservation", 0))) for h in heads
    )
    if needed > space.available():
        return [f"cannot create snapshot '{n}': out of space" for n in wanted]
    return []


def zfs_snapshot(host: SimHost, args: list[str]) -> SimResult:
    opts, rest = getopts(args, "ro:")
    recursive = any(flag == "-r" for flag, _ in opts)
    if not rest:
        raise usage("snapshot", "missing snapshot argument")
    multiple = recursive or len(rest) > 1
    with host.store.edit() as state:
        wanted = _snap_targets(state, rest, recursive)
        problems = _snap_problems(host, state, wanted)
        if problems:
            tail = ["no snapshots were created"] if multiple else []
            raise CommandExit(1, *problems, *tail)
        txg = _next_txg(state)
        now = int(host.now())
        for name in wanted:
            head = state["datasets"][name.split("@", 1)[0]]
            snap: dict[str, Any] = {
                "type": "snapshot",
                "guid": zfs_data.freeze(host, name.split("@", 1)[0]),
                "createtxg": txg,
                "creation": now,
                "referenced": int(head["referenced"]),
                "props": {},
                "refreservation": 0,
            }
            if head["type"] == "volume":
                snap["volsize"] = int(head["volsize"])
            state["datasets"][name] = snap
    return ok()


def zfs_rollback(host: SimHost, args: list[str]) -> SimResult:
    opts, rest = getopts(args, "rRf")
    flags = {flag for flag, _ in opts}
    if not rest:
        raise usage("rollback", "missing dataset argument")
    if len(rest) > 1:
        raise usage("rollback", "too many arguments")
    target = rest[0]
    with host.store.edit() as state:
        snap = open_snapshot(state, target)
        dataset = target.split("@", 1)[0]
        later = [
            s
            for s in snapshots_of(state, dataset)
            if int(state["datasets"][s]["createtxg"]) > int(snap["createtxg"])
        ]
        if later and not flags & {"-r", "-R"}:
            raise CommandExit(
                1,
                f"cannot rollback to '{target}': more recent snapshots or bookmarks exist",
                "use '-r' to force deletion of the following snapshots and bookmarks:",
                *later,
            )
        deps = [d for s in later for d in dependents(state, s)]
        if deps and "-R" not in flags:
            raise CommandExit(
                1,
                f"cannot rollback to '{target}': clones of previous snapshots exist",
                "use '-R' to force deletion of the following clones and dependents:",
                *deps,
            )
        for name in deps:
            if busy(host, state, name):
                raise CommandExit(1, f"cannot destroy '{name}': dataset is busy")
        remove(host, state, [*deps, *later])
        head = state["datasets"][dataset]
        if head["type"] == "volume":
            zfs_data.restore(host, snap["guid"], dataset)
            old = int(head["volsize"])
            head["volsize"] = int(snap.get("volsize", old))
            # libzfs zfs_rollback: a reservation that matched the old size follows the new one.
            if int(head.get("refreservation", 0)) == old:
                head["refreservation"] = head["volsize"]
        head["referenced"] = int(snap["referenced"])
    return ok()


def _check_target(state: State, target: str) -> None:
    try:
        check_name(target)
    except ZfsValueError as exc:
        raise CommandExit(1, f"cannot create '{target}': {exc}") from exc
    pool = target.split("/", 1)[0]
    if pool != state["pool"]["name"]:
        raise CommandExit(1, f"cannot create '{target}': no such pool '{pool}'")
    parent = target.rsplit("/", 1)[0]
    if "/" not in target or parent not in state["datasets"]:
        raise CommandExit(1, f"cannot create '{target}': parent does not exist")
    if state["datasets"][parent]["type"] != "filesystem":
        raise CommandExit(1, f"cannot create '{target}': parent is not a filesystem")
    if target in state["datasets"]:
        raise CommandExit(1, f"cannot create '{target}': dataset already exists")


def zfs_clone(host: SimHost, args: list[str]) -> SimResult:
    opts, rest = getopts(args, "o:pu")
    if not rest:
        raise usage("clone", "missing source dataset argument")
    if len(rest) < 2:
        raise usage("clone", "missing target dataset argument")
    if len(rest) > 2:
        raise usage("clone", "too many arguments")
    source, target = rest
    props = zfs_util.create_props(opts, target, _CLONE_PROPS, missing_rc=1)
    with host.store.edit() as state:
        snap = open_snapshot(state, source)
        _check_target(state, target)
        head = state["datasets"][source.split("@", 1)[0]]
        state["datasets"][target] = {
            "type": head["type"],
            "volsize": int(snap.get("volsize", 0)),
            "refreservation": 0,
            "referenced": int(snap["referenced"]),
            "props": {**{k: v for k, v in head["props"].items() if k == "volblocksize"}, **props},
            "creation": int(host.now()),
            "origin": source,
        }
        if head["type"] == "volume" and props.get("volmode") != "none":
            zfs_data.restore(host, snap["guid"], target)
    return ok()


def zfs_promote(host: SimHost, args: list[str]) -> SimResult:
    if args and args[0].startswith("-"):
        raise usage("promote", f"invalid option '{args[0][1:2]}'")
    if not args:
        raise usage("promote", "missing clone filesystem argument")
    if len(args) > 1:
        raise usage("promote", "too many arguments")
    clone = args[0]
    with host.store.edit() as state:
        ds = state["datasets"].get(clone)
        if ds is None:
            raise CommandExit(1, f"cannot open '{clone}': dataset does not exist")
        if ds["type"] == "snapshot":
            raise CommandExit(
                1, f"cannot open '{clone}': operation not applicable to datasets of this type"
            )
        origin = ds.get("origin")
        if not origin:
            raise CommandExit(1, f"cannot promote '{clone}': not a cloned filesystem")
        _promote(state, clone, origin)
    return ok()


def _promote(state: State, clone: str, origin: str) -> None:
    """Move the origin's snapshots up to `origin` to the clone and swap the dependency."""
    head, _, _ = origin.partition("@")
    limit = int(state["datasets"][origin]["createtxg"])
    moved = [
        s for s in snapshots_of(state, head) if int(state["datasets"][s]["createtxg"]) <= limit
    ]
    for snap in moved:
        short = snap.split("@", 1)[1]
        if f"{clone}@{short}" in state["datasets"]:
            raise CommandExit(
                1,
                f"cannot promote '{clone}': conflicting snapshot '{short}' from parent '{origin}'",
            )
    datasets = state["datasets"]
    renamed = {snap: f"{clone}@{snap.split('@', 1)[1]}" for snap in moved}
    for old, new in renamed.items():
        datasets[new] = datasets.pop(old)
    for ds in datasets.values():
        if ds.get("origin") in renamed:
            ds["origin"] = renamed[ds["origin"]]
    # The promoted clone takes over the origin's own origin; the old head hangs off the clone.
    own_origin = datasets[head].get("origin", "")
    datasets[clone]["origin"] = own_origin
    if not own_origin:
        datasets[clone].pop("origin")
    datasets[head]["origin"] = renamed[origin]
