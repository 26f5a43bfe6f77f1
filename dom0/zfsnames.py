"""Validators for ZFS dataset and snapshot names (re-exported by `dom0.validate`).

The rules are OpenZFS's (module/zcommon/zfs_namecheck.c: `valid_char`, `entity_namecheck`,
`snapshot_namecheck`; ZFS_MAX_DATASET_NAME_LEN is 256 including the NUL, so a whole name, snapshot
part included, has at most 255 characters), minus spaces: these names get pasted into shells and
xl disk specs. Each validator returns the name or raises `ValidationError(field, rule)`.
"""

from __future__ import annotations

import re

from dom0.errors import ValidationError

__all__ = ["MAX_DATASET_LEN", "ZFS_PROPERTY_RE", "dataset_name", "snapshot", "snapshot_name"]

_ZFS_COMPONENT_RE = re.compile(r"[A-Za-z0-9_.:-]+")
_RESERVED_POOLS = {"mirror", "raidz", "draid", "spare", "log", "cache", "special", "dedup"}
_RESERVED_POOL_RE = re.compile(r"(raidz|draid)[0-9].*|c[0-9].*")
MAX_DATASET_LEN = 255
#: A ZFS property name: native (`volsize`) or user (`org.example:tag`).
ZFS_PROPERTY_RE = re.compile(r"[a-z][a-z0-9_.:-]*")


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be text", value)
    return value.strip()


def _component_problem(comp: str) -> str | None:
    if comp == "":
        return "must not contain empty components ('//', or a leading or trailing '/')"
    if comp in (".", ".."):
        return "must not contain '.' or '..' components"
    if "@" in comp or "#" in comp:
        return "must not contain '@' or '#' (snapshots and bookmarks are not volumes)"
    if " " in comp:
        return (
            "must not contain spaces (ZFS allows them, but these names get pasted into shells "
            "and xl disk specs)"
        )
    if not _ZFS_COMPONENT_RE.fullmatch(comp):
        return "may contain only letters, digits, '_', '.', ':' and '-' in each component"
    return None


def dataset_name(value: object, field: str = "dataset", *, require_child: bool = False) -> str:
    """Return a ZFS dataset name `pool[/component]...` (OpenZFS rules, minus spaces).

    `require_child` refuses a bare pool name, e.g. for a volume, which cannot be a pool root.
    """
    name = _text(value, field)
    if not name:
        raise ValidationError(field, "must not be empty", value)
    if len(name) > MAX_DATASET_LEN:
        raise ValidationError(field, f"must be at most {MAX_DATASET_LEN} characters", value)
    components = name.split("/")
    for comp in components:
        problem = _component_problem(comp)
        if problem:
            raise ValidationError(field, problem, value)
    pool = components[0]
    if not pool[0].isascii() or not pool[0].isalpha():
        raise ValidationError(field, "the pool name must start with a letter", value)
    if pool in _RESERVED_POOLS or _RESERVED_POOL_RE.fullmatch(pool):
        raise ValidationError(
            field, f"'{pool}' is reserved by ZFS and cannot be a pool name", value
        )
    if require_child and len(components) < 2:
        raise ValidationError(field, "must name a dataset inside a pool, e.g. 'zroot/xen/vm1'")
    return name


#: The shortest dataset (one letter) and the '@' leave this much for the part after '@'.
MAX_SNAPSHOT_NAME_LEN = MAX_DATASET_LEN - 2
_SNAPSHOT_RULE = (
    "may contain only letters, digits, '_', '.', ':' and '-' (no '/', '@', '#', ',', '%' or spaces)"
)


def snapshot_name(value: object, field: str = "snapshot") -> str:
    """Return the part of a snapshot name after '@', e.g. `before-upgrade`.

    ',' and '%' are refused with the rest: `zfs destroy` reads `ds@a,b` as a list and `ds@a%b`
    as a range of snapshots, so a name holding either could destroy more than it names.
    """
    name = _text(value, field)
    if not name:
        raise ValidationError(field, "must not be empty", value)
    if len(name) > MAX_SNAPSHOT_NAME_LEN:
        raise ValidationError(field, f"must be at most {MAX_SNAPSHOT_NAME_LEN} characters", value)
    if name in (".", ".."):
        raise ValidationError(field, "must not be '.' or '..'", value)
    if not _ZFS_COMPONENT_RE.fullmatch(name):
        raise ValidationError(field, _SNAPSHOT_RULE, value)
    return name


def snapshot(value: object, field: str = "snapshot") -> str:
    """Return a full snapshot name `pool/dataset@name` (at most 255 characters in all)."""
    text = _text(value, field)
    dataset, at, name = text.partition("@")
    if not at:
        raise ValidationError(
            field, "must be a snapshot name such as 'zroot/xen/vm1@before-upgrade'", value
        )
    if "@" in name:
        raise ValidationError(field, "must contain exactly one '@'", value)
    dataset_name(dataset, field)
    snapshot_name(name, field)
    if len(text) > MAX_DATASET_LEN:
        raise ValidationError(
            field, f"must be at most {MAX_DATASET_LEN} characters with the dataset name", value
        )
    return text
