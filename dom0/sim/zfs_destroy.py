"""`zfs destroy [-nrRfpv] <dataset>` and `zfs destroy [-rR] <dataset>@<snap>`.

Follows zfs_main.c `zfs_do_destroy` and `destroy_check_dependent`: the dependents of a dataset are
walked as libzfs' zfs_iter_dependents does (children, then snapshots oldest first, each after the
clones that depend on it); without -r the direct descendants are listed as "has children", with
-r (not -R) clones elsewhere are listed as "has dependent clones". With -r/-R each dataset is
destroyed in that order and a failure is reported and skipped (`destroy_callback`: "When
performing a recursive destroy we ignore errors"): a busy volume prints "dataset is busy", a
parent that still has children left prints "dataset already exists" (EEXIST from
module/zfs/dsl_destroy.c `dsl_destroy_head_check_impl`), and the command exits 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import zfs_data
from .result import CommandExit, SimResult, ok
from .state import State
from .zfs_space import clones_of, snapshots_of
from .zfs_util import busy, getopts, usage

if TYPE_CHECKING:
    from .host import SimHost


def _direct_children(state: State, name: str) -> list[str]:
    prefix = name + "/"
    return sorted(
        n
        for n in state["datasets"]
        if n.startswith(prefix) and "/" not in n[len(prefix) :] and "@" not in n
    )


def dependents(state: State, name: str) -> list[str]:
    """Everything that must go before `name` can, in the order zfs destroys it (post-order)."""
    out: list[str] = []

    def visit(node: str, first: bool) -> None:
        if "@" in node:
            for clone in clones_of(state, node):
                visit(clone, False)
        else:
            for child in _direct_children(state, node):
                visit(child, False)
            for snap in snapshots_of(state, node):
                visit(snap, False)
        if not first:
            out.append(node)

    visit(name, True)
    return out


def _is_descendant(target: str, name: str) -> bool:
    return name.startswith(target + "/") or name.startswith(target + "@")


def remove(host: SimHost, state: State, names: list[str]) -> None:
    """Drop datasets and snapshots from the state, with their device nodes and snapshot data."""
    for name in names:
        ds = state["datasets"].pop(name)
        if ds["type"] == "snapshot":
            if not any(d.get("guid") == ds["guid"] for d in state["datasets"].values()):
                zfs_data.forget(host, ds["guid"])
        else:
            host.local(zfs_data.device(name)).unlink(missing_ok=True)


def _refuse_busy(host: SimHost, state: State, names: list[str]) -> None:
    for name in names:
        if busy(host, state, name):
            raise CommandExit(1, f"cannot destroy '{name}': dataset is busy")


def _destroy_snapshot(host: SimHost, target: str, flags: set[str]) -> SimResult:
    dataset, _, snapname = target.partition("@")
    with host.store.edit() as state:
        ds = state["datasets"].get(dataset)
        if ds is None or ds["type"] == "snapshot":
            raise CommandExit(1, f"cannot open '{dataset}': dataset does not exist")
        snaps = [target] if target in state["datasets"] else []
        if flags & {"-r", "-R"}:
            for child in sorted(state["datasets"]):
                if child.startswith(dataset + "/") and "@" not in child:
                    if f"{child}@{snapname}" in state["datasets"]:
                        snaps.append(f"{child}@{snapname}")
        if not snaps:
            raise CommandExit(1, "could not find any snapshots to destroy; check snapshot names.")
        doomed: list[str] = []
        for snap in snaps:
            deps = dependents(state, snap)
            if deps and "-R" not in flags:
                raise CommandExit(
                    1,
                    f"cannot destroy '{snap}': snapshot has dependent clones",
                    "use '-R' to destroy the following datasets:",
                    *deps,
                )
            doomed += [*deps, snap]
        _refuse_busy(host, state, doomed)
        if "-n" not in flags:
            remove(host, state, doomed)
    return ok()


def zfs_destroy(host: SimHost, args: list[str]) -> SimResult:
    opts, rest = getopts(args, "rRfnpvd")
    flags = {flag for flag, _ in opts}
    if not rest:
        raise usage("destroy", "missing dataset argument")
    if len(rest) > 1:
        raise usage("destroy", "too many arguments")
    name = rest[0]
    if "@" in name:
        return _destroy_snapshot(host, name, flags)
    with host.store.edit() as state:
        if name not in state["datasets"]:
            raise CommandExit(1, f"cannot open '{name}': dataset does not exist")
        kind = state["datasets"][name]["type"]
        if "/" not in name and not flags & {"-r", "-R"}:
            raise CommandExit(
                1,
                f"cannot destroy '{name}': operation does not apply to pools",
                f"use 'zfs destroy -r {name}' to destroy all datasets in the pool",
                f"use 'zpool destroy {name}' to destroy the pool itself",
            )
        deps = dependents(state, name)
        if "-R" not in flags:
            if "-r" not in flags:
                kids = [d for d in deps if _is_descendant(name, d)]
                if kids:
                    raise CommandExit(
                        1,
                        f"cannot destroy '{name}': {kind} has children",
                        "use '-r' to destroy the following datasets:",
                        *kids,
                    )
            clones = [d for d in deps if not _is_descendant(name, d)]
            if clones:
                raise CommandExit(
                    1,
                    f"cannot destroy '{name}': {kind} has dependent clones",
                    "use '-R' to destroy the following datasets:",
                    *clones,
                )
        # The pool's root filesystem itself is never destroyed, only what is under it.
        doomed = deps if "/" not in name else [*deps, name]
        if "-n" in flags:
            return ok()
        if not flags & {"-r", "-R"}:
            _refuse_busy(host, state, doomed)
            remove(host, state, doomed)
            return ok()
        failed = _destroy_each(host, state, doomed)
    if failed:
        raise CommandExit(1, *failed)
    return ok()


def _destroy_each(host: SimHost, state: State, doomed: list[str]) -> list[str]:
    """Destroy in order, skipping what fails as `destroy_callback` does; return the errors."""
    errors: list[str] = []
    for name in doomed:
        if "@" not in name:
            if busy(host, state, name):
                errors.append(f"cannot destroy '{name}': dataset is busy")
                continue
            left = [d for d in state["datasets"] if _is_descendant(name, d)]
            if any("@" not in d for d in left):
                # A child dataset is still there (dsl_dir child count != 0): EEXIST.
                errors.append(f"cannot destroy '{name}': dataset already exists")
                continue
            if left:
                # Its own snapshots are still there (ds_prev is the head's snapshot): EBUSY.
                errors.append(f"cannot destroy '{name}': dataset is busy")
                continue
        remove(host, state, [name])
    return errors
