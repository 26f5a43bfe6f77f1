"""`zfs create/destroy/list/get` and `zpool list` against the simulated pool (facts §5).

Each volume has a device node `/dev/zvol/<name>` (an empty marker file) from creation to
destruction; a volume that a domU has as a disk target is busy.
"""

from __future__ import annotations

import getopt
from typing import TYPE_CHECKING

from . import zfs_space as space
from .result import CommandExit, SimResult, ok
from .state import State
from .zfsnames import ZfsValueError, check_name, nicenum, parse_size, round_up

if TYPE_CHECKING:
    from .host import SimHost

_VOLMODES = {"default": "default", "full": "full", "geom": "full", "dev": "dev", "none": "none"}
_SETTABLE = {"volmode", "compression", "volblocksize", "mountpoint", "sync", "checksum"}
_TYPES = {"filesystem": "filesystem", "fs": "filesystem", "volume": "volume", "vol": "volume"}
_TYPES |= {"snapshot": "snapshot", "snap": "snapshot", "bookmark": "bookmark", "all": "all"}


def _getopt(args: list[str], spec: str) -> tuple[list[tuple[str, str]], list[str]]:
    try:
        return getopt.getopt(args, spec)
    except getopt.GetoptError as exc:
        if exc.opt and "requires argument" in exc.msg:
            raise CommandExit(2, f"missing argument for '{exc.opt}' option") from exc
        raise CommandExit(2, f"invalid option '{exc.opt}'") from exc


def device(name: str) -> str:
    return f"/dev/zvol/{name}"


def _create_props(opts: list[tuple[str, str]], target: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for flag, value in opts:
        if flag != "-o":
            continue
        key, sep, val = value.partition("=")
        if not sep:
            raise CommandExit(2, "missing '=' for property=value argument")
        if key not in _SETTABLE:
            raise CommandExit(1, f"cannot create '{target}': invalid property '{key}'")
        if key == "volmode":
            if val not in _VOLMODES:
                raise CommandExit(
                    1,
                    f"cannot create '{target}': 'volmode' must be one of "
                    "'default | full | geom | dev | none'",
                )
            val = _VOLMODES[val]
        props[key] = val
    return props


def zfs_create(host: SimHost, args: list[str]) -> SimResult:
    opts, rest = _getopt(args, "psnvPb:o:V:")
    flags = {flag for flag, _ in opts}
    if len(rest) != 1:
        raise CommandExit(2, "missing filesystem argument" if not rest else "too many arguments")
    name = rest[0]
    volsize = None
    for flag, value in opts:
        if flag == "-V":
            try:
                volsize = parse_size(value)
            except ZfsValueError as exc:
                raise CommandExit(1, f"bad volume size '{value}': {exc}") from exc
    props = _create_props(opts, name)
    try:
        check_name(name)
    except ZfsValueError as exc:
        raise CommandExit(1, f"cannot create '{name}': {exc}") from exc
    if volsize == 0:
        raise CommandExit(1, f"cannot create '{name}': volume size cannot be zero")
    with host.store.edit() as state:
        _check_create(state, name, volsize, "-s" in flags)
        if "-n" in flags:
            return ok()
        kind = "volume" if volsize is not None else "filesystem"
        dataset = space.new_dataset(kind, round_up(volsize or 0), "-s" in flags)
        dataset["props"] = props
        state["datasets"][name] = dataset
    if volsize is not None and props.get("volmode") != "none":
        node = host.local(device(name))
        node.parent.mkdir(parents=True, exist_ok=True)
        node.touch()
    return ok()


def _check_create(state: State, name: str, volsize: int | None, sparse: bool) -> None:
    pool = name.split("/", 1)[0]
    if pool != state["pool"]["name"]:
        raise CommandExit(1, f"cannot open '{pool}': no such pool")
    parent = name.rsplit("/", 1)[0]
    if "/" not in name or name in state["datasets"]:
        raise CommandExit(1, f"cannot create '{name}': dataset already exists")
    if parent not in state["datasets"]:
        raise CommandExit(1, f"cannot create '{name}': parent does not exist")
    if state["datasets"][parent]["type"] != "filesystem":
        # UNVERIFIED wording for a child under a volume.
        raise CommandExit(1, f"cannot create '{name}': parent is not a filesystem")
    needed = 0 if sparse or volsize is None else round_up(volsize)
    if needed + space.EMPTY_REFERENCED > space.available(state):
        raise CommandExit(1, f"cannot create '{name}': out of space")


def zfs_destroy(host: SimHost, args: list[str]) -> SimResult:
    opts, rest = _getopt(args, "rRfnpv")
    flags = {flag for flag, _ in opts}
    if len(rest) != 1:
        raise CommandExit(2, "missing dataset argument" if not rest else "too many arguments")
    name = rest[0]
    with host.store.edit() as state:
        if name not in state["datasets"]:
            raise CommandExit(1, f"cannot open '{name}': dataset does not exist")
        if "/" not in name:
            raise CommandExit(
                1,
                f"cannot destroy '{name}': operation does not apply to pools",
                f"use 'zfs destroy -r {name}' to destroy all datasets in the pool",
                f"use 'zpool destroy {name}' to destroy the pool itself",
            )
        kids = space.children(state, name)
        if kids and not flags & {"-r", "-R"}:
            kind = state["datasets"][name]["type"]
            raise CommandExit(
                1,
                f"cannot destroy '{name}': {kind} has children",
                "use '-r' to destroy the following datasets:",
                *kids,
            )
        doomed = [*reversed(kids), name]
        for ds in doomed:
            if _busy(host, state, ds):
                raise CommandExit(1, f"cannot destroy '{ds}': dataset is busy")
        if "-n" in flags:
            return ok()
        for ds in doomed:
            del state["datasets"][ds]
    for ds in doomed:
        host.local(device(ds)).unlink(missing_ok=True)
    return ok()


def _busy(host: SimHost, state: State, name: str) -> bool:
    if state["datasets"][name]["type"] != "volume":
        return False
    node = device(name)
    return any(
        disk["target"] and host.normalize(disk["target"]) == node
        for dom in state["domains"].values()
        for disk in dom["disks"]
    )


def _props(text: str) -> list[str]:
    props = []
    for prop in text.split(","):
        prop = space.ALIASES.get(prop, prop)
        if prop not in space.PROPS:
            raise CommandExit(2, f"bad property list: invalid property '{prop}'")
        props.append(prop)
    return props


def _selected(state: State, names: list[str], recursive: bool, types: set[str]) -> list[str]:
    if not names:
        chosen = sorted(state["datasets"])
    else:
        chosen = []
        for name in names:
            if name not in state["datasets"]:
                raise CommandExit(1, f"cannot open '{name}': dataset does not exist")
            if (
                not recursive
                and "all" not in types
                and state["datasets"][name]["type"] not in types
            ):
                raise CommandExit(
                    1, f"cannot open '{name}': operation not applicable to datasets of this type"
                )
            chosen.append(name)
            if recursive:
                chosen.extend(space.children(state, name))
    return [n for n in chosen if "all" in types or state["datasets"][n]["type"] in types]


def _table(rows: list[list[str]], header: list[str] | None, numeric: list[bool]) -> str:
    if header is None:
        return "".join("\t".join(row) + "\n" for row in rows)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(w) if num else cell.ljust(w)
            for cell, w, num in zip(row, widths, numeric, strict=True)
        ]
        lines.append("  ".join(cells).rstrip() + "\n")
    return "".join(lines)


def zfs_list(host: SimHost, args: list[str]) -> SimResult:
    opts, names = _getopt(args, "Hprd:t:o:s:S:")
    flags = {flag for flag, _ in opts}
    props = ["name", "used", "available", "referenced", "mountpoint"]
    types = {"filesystem", "volume"}
    for flag, value in opts:
        if flag == "-o":
            props = _props(value)
        elif flag == "-t":
            types = set()
            for t in value.split(","):
                if t not in _TYPES:
                    raise CommandExit(2, f"invalid type '{t}'")
                types.add(_TYPES[t])
    state = host.store.read()
    chosen = _selected(state, names, bool(flags & {"-r", "-d"}), types)
    parsable = "-p" in flags
    rows = [[space.show(space.raw_value(state, n, p), p, parsable) for p in props] for n in chosen]
    if not rows and "-H" not in flags:
        return ok(stderr="no datasets available\n")
    header = None if "-H" in flags else [_header(p) for p in props]
    numeric = [p in space.SIZE_PROPS for p in props]
    return ok(_table(rows, header, numeric))


def _header(prop: str) -> str:
    short = {v: k for k, v in space.ALIASES.items() if k != "reserv"}
    return short.get(prop, prop).upper()


def zfs_get(host: SimHost, args: list[str]) -> SimResult:
    opts, rest = _getopt(args, "Hprd:t:o:s:")
    flags = {flag for flag, _ in opts}
    fields = ["name", "property", "value", "source"]
    for flag, value in opts:
        if flag == "-o":
            fields = value.split(",")
    if not rest:
        raise CommandExit(2, "missing property argument")
    props = list(space.PROPS[1:]) if rest[0] == "all" else _props(rest[0])
    state = host.store.read()
    chosen = _selected(state, rest[1:], "-r" in flags, {"all"})
    rows = []
    for name in chosen:
        for prop in props:
            value = space.show(space.raw_value(state, name, prop), prop, "-p" in flags)
            cells = {"name": name, "property": prop, "value": value, "received": "-"}
            cells["source"] = space.source(state, name, prop)
            rows.append([cells.get(f, "-") for f in fields])
    header = None if "-H" in flags else [f.upper() for f in fields]
    return ok(_table(rows, header, [False] * len(fields)))


def zfs(host: SimHost, args: list[str]) -> SimResult:
    commands = {"create": zfs_create, "destroy": zfs_destroy, "list": zfs_list, "get": zfs_get}
    if not args or args[0] not in commands:
        what = f"unrecognized command '{args[0]}'" if args else "missing command"
        raise CommandExit(2, what, "usage: zfs command args ...")
    return commands[args[0]](host, args[1:])


_POOL_PROPS = ("name", "size", "allocated", "free", "checkpoint", "expandsize", "fragmentation")
_POOL_PROPS += ("capacity", "dedupratio", "health", "altroot")
_POOL_ALIASES = {"alloc": "allocated", "ckpoint": "checkpoint", "expandsz": "expandsize"}
_POOL_ALIASES |= {"frag": "fragmentation", "cap": "capacity", "dedup": "dedupratio"}


def _pool_value(state: State, prop: str, parsable: bool) -> str:
    size = state["pool"]["size"]
    alloc = space.allocated(state)
    sizes = {"size": size, "allocated": alloc, "free": size - alloc}
    if prop in sizes:
        return str(sizes[prop]) if parsable else nicenum(sizes[prop])
    percent = {"capacity": alloc * 100 // size, "fragmentation": 1}
    if prop in percent:
        return str(percent[prop]) if parsable else f"{percent[prop]}%"
    fixed = {"name": state["pool"]["name"], "health": "ONLINE", "dedupratio": "1.00"}
    if prop == "dedupratio" and not parsable:
        return "1.00x"
    return fixed.get(prop, "-")


def zpool(host: SimHost, args: list[str]) -> SimResult:
    if not args or args[0] != "list":
        raise CommandExit(2, f"unrecognized command '{args[0]}'" if args else "missing command")
    opts, pools = _getopt(args[1:], "Hpo:gLPTv")
    flags = {flag for flag, _ in opts}
    props = list(_POOL_PROPS)
    for flag, value in opts:
        if flag == "-o":
            props = [_POOL_ALIASES.get(p, p) for p in value.split(",")]
            bad = next((p for p in props if p not in _POOL_PROPS), None)
            if bad:
                raise CommandExit(2, f"property '{bad}' is not a valid pool property")
    state = host.store.read()
    for pool in pools:
        if pool != state["pool"]["name"]:
            raise CommandExit(1, f"cannot open '{pool}': no such pool")
    row = [_pool_value(state, p, "-p" in flags) for p in props]
    header = None if "-H" in flags else [_pool_header(p) for p in props]
    numeric = [p in ("size", "allocated", "free") for p in props]
    return ok(_table([row], header, numeric))


def _pool_header(prop: str) -> str:
    short = {v: k for k, v in _POOL_ALIASES.items()}
    return short.get(prop, prop).upper()
