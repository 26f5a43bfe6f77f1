"""Argv builders for ZFS snapshots, clones and volume properties (re-exported by
`dom0.commands`); every input goes through `validate` first."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from dom0 import validate
from dom0.errors import ValidationError
from dom0.zfsnames import ZFS_PROPERTY_RE

__all__ = [
    "DEFAULT_VOLBLOCKSIZE",
    "SNAPSHOT_LIST_COLUMNS",
    "zfs_clone",
    "zfs_destroy_snapshot",
    "zfs_list_snapshots",
    "zfs_promote",
    "zfs_rollback",
    "zfs_set_readonly",
    "zfs_set_volsize",
    "zfs_snapshot",
]

# --- zfs snapshots, clones, volume properties --------------------------------------------------

SNAPSHOT_LIST_COLUMNS = ("name", "creation", "used", "referenced")
#: OpenZFS's default volblocksize since 2.2 (zfsprops.7). `zfs set volsize=` refuses a size that
#: is not a multiple of the volume's block size (libzfs_dataset.c `zfs_valid_proplist`), unlike
#: `zfs create -V`, which rounds up.
DEFAULT_VOLBLOCKSIZE = 16 * 1024
_PROP_VALUE_RE = re.compile(r"[ -~]{0,1024}")


def _pool(name: str) -> str:
    return name.split("/", 1)[0].split("@", 1)[0]


def zfs_snapshot(snapshots: Sequence[str]) -> list[str]:
    """Return `zfs snapshot ds1@s ds2@s ...`: one command, so all are made at once or none.

    One snapshot per dataset and one pool (lzc_snapshot takes them atomically only within a pool;
    two of one dataset fail with "multiple snapshots of same fs not allowed").
    """
    if isinstance(snapshots, str) or not snapshots:
        raise ValidationError("snapshots", "at least one snapshot name is required", snapshots)
    names = [validate.snapshot(s, "snapshots") for s in snapshots]
    datasets = [n.partition("@")[0] for n in names]
    if len(set(datasets)) != len(datasets):
        raise ValidationError(
            "snapshots", "must name each dataset once (ZFS takes one snapshot per dataset)", names
        )
    if len({_pool(n) for n in names}) > 1:
        raise ValidationError(
            "snapshots",
            "must all be in one pool (a snapshot of several datasets is atomic only in one pool)",
            names,
        )
    return ["zfs", "snapshot", *names]


def zfs_list_snapshots(datasets: Sequence[str]) -> list[str]:
    """Return `zfs list -H -p -t snapshot -o name,creation,used,referenced -d 1 ds...`.

    `-d 1` keeps to each dataset's own snapshots (not those of datasets below it).
    """
    if isinstance(datasets, str) or not datasets:
        raise ValidationError("datasets", "at least one dataset is required", datasets)
    names = [validate.dataset_name(d, "datasets") for d in datasets]
    columns = ",".join(SNAPSHOT_LIST_COLUMNS)
    return ["zfs", "list", "-H", "-p", "-t", "snapshot", "-o", columns, "-d", "1", *names]


def zfs_rollback(snapshot: str, *, destroy_later: bool = False) -> list[str]:
    """Return `zfs rollback [-r] ds@snap`; `-r` destroys the snapshots made after it.

    Never `-R`: that also destroys clones of those snapshots, i.e. other domUs' disks.
    """
    name = validate.snapshot(snapshot)
    return ["zfs", "rollback", *(["-r"] if destroy_later else []), name]


def _zfs_property(key: object, value: object) -> str:
    if not isinstance(key, str) or not ZFS_PROPERTY_RE.fullmatch(key):
        raise ValidationError(
            "properties", "property names look like volmode or org.example:tag", key
        )
    if not isinstance(value, str) or not _PROP_VALUE_RE.fullmatch(value):
        raise ValidationError(
            "properties",
            f"the value of {key} must be printable text of at most 1024 characters",
            value,
        )
    return f"{key}={value}"


def zfs_clone(
    snapshot: str, target: str, *, properties: Mapping[str, str] | None = None
) -> list[str]:
    """Return `zfs clone [-o k=v]... ds@snap target`; the clone stays in the snapshot's pool."""
    source = validate.snapshot(snapshot)
    name = validate.dataset_name(target, "target", require_child=True)
    if _pool(name) != _pool(source):
        raise ValidationError(
            "target", f"must be in the pool '{_pool(source)}', as the snapshot is", target
        )
    options: list[str] = []
    for key, value in (properties or {}).items():
        options += ["-o", _zfs_property(key, value)]
    return ["zfs", "clone", *options, source, name]


def zfs_promote(dataset: str) -> list[str]:
    """Return `zfs promote <clone>`: the clone takes over its origin's snapshots."""
    return ["zfs", "promote", validate.dataset_name(dataset, require_child=True)]


def zfs_destroy_snapshot(snapshot: str) -> list[str]:
    """Return `zfs destroy ds@snap` for exactly one snapshot (no -r, -R or `%` ranges)."""
    return ["zfs", "destroy", validate.snapshot(snapshot)]


def zfs_set_volsize(
    dataset: str, size_bytes: int, *, volblocksize: int = DEFAULT_VOLBLOCKSIZE
) -> list[str]:
    """Return `zfs set volsize=<bytes> <volume>`; the size must be whole blocks."""
    name = validate.dataset_name(dataset, require_child=True)
    if isinstance(size_bytes, bool) or not isinstance(size_bytes, int):
        raise ValidationError("size", "must be a whole number of bytes", size_bytes)
    nbytes = validate.size(size_bytes)
    if nbytes % volblocksize:
        raise ValidationError(
            "size",
            f"must be a multiple of the volume's block size ({validate.format_size(volblocksize)})"
            f"; zfs set volsize refuses other sizes",
            size_bytes,
        )
    return ["zfs", "set", f"volsize={nbytes}", name]


def zfs_set_readonly(dataset: str, on: bool) -> list[str]:
    """Return `zfs set readonly=on|off <dataset>`."""
    if not isinstance(on, bool):
        raise ValidationError("readonly", "must be true or false", on)
    name = validate.dataset_name(dataset, require_child=True)
    return ["zfs", "set", f"readonly={'on' if on else 'off'}", name]
