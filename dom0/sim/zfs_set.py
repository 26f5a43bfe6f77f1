"""`zfs set property=value ... dataset ...` for the properties the panel changes.

Follows zfs_main.c `zfs_do_set` (argument checks, exit 2 with usage) and libzfs_dataset.c
`zfs_valid_proplist` / `zfs_prop_set_list_flags` (errors "cannot set property for '<ds>': ...").
A failed set returns libzfs' -1 from the callback, so zfs exits 255 (derived from zfs_for_each
`ret |= callback()` and main() `return (ret)`; UNVERIFIED on a host). Growing a thick volume
grows its refreservation with it (zfs_add_synthetic_resv); shrinking is allowed, as in ZFS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import zfs_data
from .result import CommandExit, SimResult, ok
from .state import State
from .zfs_space import Space
from .zfs_util import VOLMODES as _VOLMODES
from .zfs_util import getopts, usage
from .zfsnames import VOLBLOCKSIZE, ZfsValueError, nicenum, parse_size

if TYPE_CHECKING:
    from .host import SimHost

_ON_OFF = {"readonly": ("on", "off")}

_SETTABLE = {"volsize", "readonly", "volmode", "compression", "sync", "checksum", "mountpoint"}
FAILED = 255


def _fail(name: str, why: str) -> CommandExit:
    return CommandExit(FAILED, f"cannot set property for '{name}': {why}")


def _parse(args: list[str]) -> tuple[dict[str, str], list[str]]:
    if not args:
        raise usage("set", "missing arguments")
    if len(args) < 2:
        what = "missing dataset name(s)" if "=" in args[0] else "missing property=value argument(s)"
        raise usage("set", what)
    props: dict[str, str] = {}
    names: list[str] = []
    for arg in args:
        if "=" in arg:
            if names:
                raise usage("set", "invalid argument order")
            key, _, value = arg.partition("=")
            if key in props:
                raise CommandExit(FAILED, f"property '{key}' specified multiple times")
            props[key] = value
        else:
            names.append(arg)
    if not names:
        raise usage("set", "missing dataset name(s)")
    return props, names


def _apply(host: SimHost, state: State, name: str, props: dict[str, str]) -> None:
    ds = state["datasets"][name]
    new_size: int | None = None
    for key, value in props.items():
        if key not in _SETTABLE:
            raise _fail(name, f"invalid property '{key}'")
        if key == "volsize":
            if ds["type"] != "volume":
                raise _fail(name, "'volsize' does not apply to datasets of this type")
            try:
                new_size = parse_size(value)
            except ZfsValueError as exc:
                raise _fail(name, str(exc)) from exc
            block = int(ds["props"].get("volblocksize", VOLBLOCKSIZE))
            if new_size % block:
                raise _fail(
                    name, f"'volsize' must be a multiple of volume block size ({nicenum(block)})"
                )
            if new_size == 0:
                raise _fail(name, "'volsize' cannot be zero")
        elif key in _ON_OFF and value not in _ON_OFF[key]:
            raise _fail(name, f"'{key}' must be one of '{' | '.join(_ON_OFF[key])}'")
        elif key == "volmode" and value not in _VOLMODES:
            raise _fail(name, "'volmode' must be one of 'default | full | geom | dev | none'")
    if new_size is not None:
        old = int(ds["volsize"])
        if int(ds.get("refreservation", 0)) == old:
            space = Space(state, zfs_data.reader(host))
            if new_size - old > space.available():
                raise _fail(name, "size is greater than available space")
            ds["refreservation"] = new_size
        ds["volsize"] = new_size
    for key, value in props.items():
        if key != "volsize":
            ds["props"][key] = _VOLMODES.get(value, value) if key == "volmode" else value


def zfs_set(host: SimHost, args: list[str]) -> SimResult:
    opts, rest = getopts(args, "u")
    props, names = _parse(rest)
    with host.store.edit() as state:
        for name in names:
            if name not in state["datasets"]:
                raise CommandExit(1, f"cannot open '{name}': dataset does not exist")
        for name in names:
            _apply(host, state, name, props)
    return ok()
