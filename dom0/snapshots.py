"""ZFS snapshots: the `zfs list -t snapshot` parser and the errors of snapshot, rollback, clone
and destroy (both re-exported by `dom0.parsers`).

Error texts are OpenZFS's (openzfs/zfs at be7657e3f2): cmd/zfs/zfs_main.c
`destroy_check_dependent`, `rollback_check`, `rollback_check_dependent`, `zfs_do_destroy`;
lib/libzfs/libzfs_dataset.c `zfs_snapshot_nvl`, `zfs_destroy_snaps_nvl`, `zfs_rollback`;
lib/libzfs/libzfs_util.c `zfs_standard_error_fmt` (`dataset already exists`, `dataset is busy`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dom0 import errors

__all__ = ["SNAPSHOT_COLUMNS", "SnapshotRow", "classify_zfs_snapshot_error", "parse_zfs_snapshots"]

SNAPSHOT_COLUMNS = ("name", "creation", "used", "referenced")


@dataclass(frozen=True)
class SnapshotRow:
    """One snapshot: `name` is `dataset@snapshot`; `creation` is in seconds since the epoch."""

    name: str
    dataset: str
    snapshot: str
    creation: int
    used: int
    referenced: int


def parse_zfs_snapshots(text: str) -> list[SnapshotRow]:
    """Parse `zfs list -H -p -t snapshot -o name,creation,used,referenced`.

    `-H`: no header, one TAB between fields; `-p`: exact numbers, so `creation` is epoch seconds
    and the sizes are bytes (man/man8/zfs-list.8; zfs_main.c `zfs_do_list`). No snapshots print
    nothing (and with -H not even `no datasets available`).
    """
    rows: list[SnapshotRow] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(SNAPSHOT_COLUMNS):
            raise errors.ParseError(
                f"zfs list -t snapshot: expected {len(SNAPSHOT_COLUMNS)} tab-separated columns, "
                f"got {len(cells)}: {line!r}"
            )
        name, *numbers = cells
        dataset, at, snap = name.partition("@")
        if not at or not dataset or not snap:
            raise errors.ParseError(f"zfs list -t snapshot: {name!r} is not a snapshot name")
        if not all(n.isdigit() for n in numbers):
            raise errors.ParseError(f"zfs list -t snapshot: expected numbers (-p) in {line!r}")
        creation, used, referenced = (int(n) for n in numbers)
        rows.append(SnapshotRow(name, dataset, snap, creation, used, referenced))
    return rows


# --- errors ------------------------------------------------------------------------------------

_DEPENDENT_CLONES_RE = re.compile(
    r"^cannot destroy '(?P<ds>[^']*)': (?P<type>\w+) has dependent clones$", re.M
)
_CHILDREN_RE = re.compile(r"^cannot destroy '(?P<ds>[^']*)': (?P<type>\w+) has children$", re.M)
_ROLLBACK_LATER_RE = re.compile(
    r"^cannot rollback to '(?P<snap>[^']*)': more recent snapshots or bookmarks exist$", re.M
)
_ROLLBACK_CLONES_RE = re.compile(
    r"^cannot rollback to '(?P<snap>[^']*)': clones of previous snapshots exist$", re.M
)
# lzc_rollback_to found a newer snapshot after the zfs command had checked (a race).
_ROLLBACK_RACE_RE = re.compile(
    r"^cannot rollback '[^']*': there is a snapshot or bookmark more recent than "
    r"'(?P<snap>[^']*)'$",
    re.M,
)
_SNAPSHOT_EXISTS_RE = re.compile(
    r"^cannot create snapshot '(?P<snap>[^']*)': dataset already exists$", re.M
)
# zfs_destroy_snaps_nvl names the snapshot without quotes.
_DESTROY_SNAPSHOT_RE = re.compile(r"^cannot destroy snapshot (?P<snap>\S+): (?P<why>.+)$", re.M)
_NO_SNAPSHOTS = "could not find any snapshots to destroy; check snapshot names."
#: The line after which zfs lists the datasets in the way, one per line.
_LIST_INTRO_RE = re.compile(r"^use '-[rR]' to (?:destroy|force deletion of) the following .*:$")


def _listed(stderr: str) -> list[str]:
    """Return the dataset names zfs lists after its `use '-r' ...:` line."""
    names: list[str] = []
    listing = False
    for line in stderr.splitlines():
        text = line.strip()
        if _LIST_INTRO_RE.match(text):
            listing = True
        elif listing and text and " " not in text:
            names.append(text)
        elif listing:
            break
    return names


def _some(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    more = len(names) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def classify_zfs_snapshot_error(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    """Return the typed error for a snapshot, rollback, clone or destroy refusal, or None."""
    if match := _DEPENDENT_CLONES_RE.search(stderr):
        clones = _listed(stderr)
        ds, what = match["ds"], match["type"]
        subject = f"the snapshot '{ds}'" if what == "snapshot" else f"'{ds}'"
        return errors.HasClones(
            f"ZFS did not destroy {subject}: clones depend on it ({_some(clones) or 'unlisted'})",
            datasets=clones,
            hint=(
                "Nothing was destroyed. Delete the domUs made from it, or promote their disks "
                "(zfs promote) to cut the dependency, then try again."
            ),
            **kw,
        )
    if match := _CHILDREN_RE.search(stderr):
        children = _listed(stderr)
        return errors.HasChildren(
            f"ZFS did not destroy '{match['ds']}': it has snapshots or child datasets "
            f"({_some(children) or 'unlisted'})",
            datasets=children,
            hint="Nothing was destroyed. Delete its snapshots first, then try again.",
            **kw,
        )
    if match := _ROLLBACK_LATER_RE.search(stderr):
        later = _listed(stderr)
        return errors.RollbackBlocked(
            f"ZFS did not roll back to '{match['snap']}': later snapshots or bookmarks exist "
            f"({_some(later) or 'unlisted'})",
            datasets=later,
            hint=(
                "Nothing was changed. Rolling back to it destroys the later snapshots "
                "(zfs rollback -r); confirm that to go ahead."
            ),
            **kw,
        )
    if match := _ROLLBACK_CLONES_RE.search(stderr):
        clones = _listed(stderr)
        return errors.RollbackBlocked(
            f"ZFS did not roll back to '{match['snap']}': clones of later snapshots exist "
            f"({_some(clones) or 'unlisted'})",
            datasets=clones,
            clones=True,
            hint=(
                "Nothing was changed. Delete those clones or promote them (zfs promote) first; "
                "the panel never rolls back with -R, which would destroy them."
            ),
            **kw,
        )
    if match := _ROLLBACK_RACE_RE.search(stderr):
        return errors.RollbackBlocked(
            f"ZFS did not roll back to '{match['snap']}': a later snapshot was made meanwhile",
            hint="Nothing was changed. Refresh the snapshot list and try again.",
            **kw,
        )
    if match := _SNAPSHOT_EXISTS_RE.search(stderr):
        return errors.SnapshotExists(
            f"A snapshot named '{match['snap']}' already exists",
            hint=(
                "Choose another snapshot name. No snapshot was made: a snapshot of several "
                "volumes is all or nothing."
            ),
            **kw,
        )
    if match := _DESTROY_SNAPSHOT_RE.search(stderr):
        return _destroy_snapshot(match["snap"], match["why"].strip(), kw)
    if _NO_SNAPSHOTS in stderr:
        argv = kw.get("argv") or ["?"]
        return errors.DatasetMissing(
            f"The ZFS snapshot '{argv[-1]}' does not exist",
            hint="Refresh the snapshot list; it may have been destroyed already.",
            **kw,
        )
    return None


def _destroy_snapshot(snap: str, why: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    if why == "snapshot is cloned":
        return errors.HasClones(
            f"ZFS did not destroy the snapshot '{snap}': clones depend on it",
            hint=(
                "Nothing was destroyed. Delete the domUs made from it, or promote their disks "
                "(zfs promote), then try again."
            ),
            **kw,
        )
    if why == "dataset is busy" or why.startswith("it's being held"):
        return errors.DatasetBusy(
            f"The ZFS snapshot '{snap}' is in use ({why})",
            hint=f"Nothing was destroyed. Release its holds (zfs holds {snap}), then try again.",
            **kw,
        )
    return None
