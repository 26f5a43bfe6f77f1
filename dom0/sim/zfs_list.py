"""`zfs list` and `zfs get` (facts §5; docs/day2-cli-facts.md §1 for snapshots).

Order is zfs_iter.c's default sort: by dataset name (strcmp), a dataset's snapshots right after
it, oldest (lowest createtxg) first. `-d N` counts a snapshot one level below its dataset, and
`-t snapshot` with dataset arguments and no `-r`/`-d` means `-d 1` (zfs_main.c `zfs_do_list`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import zfs_data
from .result import CommandExit, SimResult, ok
from .state import State
from .zfs_space import ALIASES, PROPS, SIZE_PROPS, Space, show, source
from .zfs_util import getopts

if TYPE_CHECKING:
    from .host import SimHost

_TYPES = {"filesystem": "filesystem", "fs": "filesystem", "volume": "volume", "vol": "volume"}
_TYPES |= {"snapshot": "snapshot", "snap": "snapshot", "bookmark": "bookmark", "all": "all"}


def _props(text: str) -> list[str]:
    props = []
    for prop in text.split(","):
        prop = ALIASES.get(prop, prop)
        if prop not in PROPS:
            raise CommandExit(2, f"bad property list: invalid property '{prop}'")
        props.append(prop)
    return props


def _depth_below(parent: str, name: str) -> int | None:
    """How many levels `name` is below `parent` (a snapshot is one below its dataset)."""
    if name == parent:
        return 0
    if name.startswith(parent + "@"):
        return 1
    if not name.startswith(parent + "/"):
        return None
    rest = name[len(parent) + 1 :]
    return rest.count("/") + 1 + (1 if "@" in rest else 0)


def sort_key(state: State, name: str) -> tuple[str, int, int]:
    base, _, snap = name.partition("@")
    txg = int(state["datasets"][name].get("createtxg", 0)) if snap else 0
    return (base, 1 if snap else 0, txg)


def _wanted(state: State, name: str, types: set[str]) -> bool:
    return "all" in types or state["datasets"][name]["type"] in types


def select(state: State, names: list[str], depth: int | None, types: set[str]) -> list[str]:
    """Return the datasets to show: `depth` None = only the named ones, -1 = unlimited."""
    if not names:
        chosen = set(state["datasets"])
    else:
        chosen = set()
        for name in names:
            if name not in state["datasets"]:
                raise CommandExit(1, f"cannot open '{name}': dataset does not exist")
            if depth is None and not _wanted(state, name, types):
                raise CommandExit(
                    1, f"cannot open '{name}': operation not applicable to datasets of this type"
                )
            chosen.add(name)
            if depth is not None:
                for other in state["datasets"]:
                    below = _depth_below(name, other)
                    if below is not None and (depth < 0 or below <= depth):
                        chosen.add(other)
    shown = [n for n in chosen if _wanted(state, n, types)]
    return sorted(shown, key=lambda n: sort_key(state, n))


def _table(
    rows: list[list[str]],
    header: list[str] | None,
    numeric: list[bool],
    min_widths: list[int] | None = None,
) -> str:
    if header is None:
        return "".join("\t".join(row) + "\n" for row in rows)
    floor = min_widths or [0] * len(header)
    widths = [max(floor[i], *(len(r[i]) for r in [header, *rows])) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(w) if num else cell.ljust(w)
            for cell, w, num in zip(row, widths, numeric, strict=True)
        ]
        lines.append("  ".join(cells).rstrip() + "\n")
    return "".join(lines)


#: zpool's left-aligned (string) columns; every other pool property is a number to zprop and
#: right-aligned (module/zcommon/zprop_common.c `zprop_register_number`, rightalign B_TRUE).
_ZPOOL_TEXT = {"name", "altroot", "bootfs", "cachefile", "comment"}


def zpool_table(rows: list[list[str]], header: list[str] | None, props: list[str]) -> str:
    """`zpool list`'s table: number columns (HEALTH too) right-aligned in at least 5 characters
    and HEALTH in 8 (zprop_common.c `zprop_width`; cmd/zpool/zpool_main.c `collect_pool`)."""
    numeric = [p not in _ZPOOL_TEXT for p in props]
    floor = [8 if p == "health" else 5 if num else 0 for p, num in zip(props, numeric, strict=True)]
    return _table(rows, header, numeric, floor)


def _types(value: str) -> set[str]:
    types = set()
    for t in value.split(","):
        if t not in _TYPES:
            raise CommandExit(2, f"invalid type '{t}'")
        types.add(_TYPES[t])
    return types


def _depth(opts: list[tuple[str, str]]) -> int | None:
    depth: int | None = None
    for flag, value in opts:
        if flag == "-r":
            depth = -1
        elif flag == "-d":
            if not value.isdigit():
                raise CommandExit(2, f"invalid depth '{value}'")
            depth = int(value)
    return depth


def zfs_list(host: SimHost, args: list[str]) -> SimResult:
    opts, names = getopts(args, "Hprd:t:o:s:S:")
    flags = {flag for flag, _ in opts}
    props = ["name", "used", "available", "referenced", "mountpoint"]
    types = {"filesystem", "volume"}
    for flag, value in opts:
        if flag == "-o":
            props = _props(value)
        elif flag == "-t":
            types = _types(value)
    depth = _depth(opts)
    if types == {"snapshot"} and names and depth is None:
        depth = 1
    state = host.store.read()
    space = Space(state, zfs_data.reader(host))
    chosen = select(state, names, depth, types)
    parsable = "-p" in flags
    rows = [[show(space.raw_value(n, p), p, parsable) for p in props] for n in chosen]
    if not rows and "-H" not in flags:
        return ok(stderr="no datasets available\n")
    header = None if "-H" in flags else [_header(p) for p in props]
    numeric = [p in SIZE_PROPS for p in props]
    return ok(_table(rows, header, numeric))


def _header(prop: str) -> str:
    short = {v: k for k, v in ALIASES.items() if k not in ("reserv", "rdonly")}
    return short.get(prop, prop).upper()


def zfs_get(host: SimHost, args: list[str]) -> SimResult:
    opts, rest = getopts(args, "Hprd:t:o:s:")
    flags = {flag for flag, _ in opts}
    fields = ["name", "property", "value", "source"]
    types = {"all"}
    for flag, value in opts:
        if flag == "-o":
            fields = value.split(",")
        elif flag == "-t":
            types = _types(value)
    if not rest:
        raise CommandExit(2, "missing property argument")
    props = list(PROPS[1:]) if rest[0] == "all" else _props(rest[0])
    state = host.store.read()
    space = Space(state, zfs_data.reader(host))
    chosen = select(state, rest[1:], _depth(opts), types)
    rows = []
    for name in chosen:
        for prop in props:
            value = show(space.raw_value(name, prop), prop, "-p" in flags)
            cells = {"name": name, "property": prop, "value": value, "received": "-"}
            cells["source"] = source(state, name, prop)
            rows.append([cells.get(f, "-") for f in fields])
    header = None if "-H" in flags else [f.upper() for f in fields]
    return ok(_table(rows, header, [False] * len(fields)))
