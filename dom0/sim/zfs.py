"""`zfs` and `zpool list` against the simulated pool (facts §5; docs/day2-cli-facts.md §1).

Each volume has a device node `/dev/zvol/<name>` from creation to destruction (its content is the
volume's data, zfs_data.py); a volume that a domU has as a disk target is busy. The subcommands
live in zfs_list.py (list, get), zfs_destroy.py, zfs_snap.py (snapshot, rollback, clone,
promote) and zfs_set.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import zfs_data, zfs_util
from .result import CommandExit, SimResult, ok
from .state import State
from .zfs_destroy import zfs_destroy
from .zfs_list import zfs_get, zfs_list, zpool_table
from .zfs_set import zfs_set
from .zfs_snap import zfs_clone, zfs_promote, zfs_rollback, zfs_snapshot
from .zfs_space import EMPTY_REFERENCED, Space, new_dataset
from .zfs_util import getopts
from .zfsnames import ZfsValueError, check_name, nicenum, parse_size, round_up

if TYPE_CHECKING:
    from .host import SimHost

_SETTABLE = {"volmode", "compression", "volblocksize", "mountpoint", "sync", "checksum"}
_SETTABLE |= {"readonly"}


def device(name: str) -> str:
    return zfs_data.device(name)


def zfs_create(host: SimHost, args: list[str]) -> SimResult:
    opts, rest = getopts(args, "psnvPb:o:V:")
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
    props = zfs_util.create_props(opts, name, _SETTABLE, missing_rc=2)
    try:
        check_name(name)
    except ZfsValueError as exc:
        raise CommandExit(1, f"cannot create '{name}': {exc}") from exc
    if volsize == 0:
        raise CommandExit(1, f"cannot create '{name}': volume size cannot be zero")
    with host.store.edit() as state:
        _check_create(host, state, name, volsize, "-s" in flags)
        if "-n" in flags:
            return ok()
        kind = "volume" if volsize is not None else "filesystem"
        dataset = new_dataset(kind, round_up(volsize or 0), "-s" in flags)
        dataset["props"] = props
        state["datasets"][name] = dataset
    if volsize is not None and props.get("volmode") != "none":
        node = host.local(device(name))
        node.parent.mkdir(parents=True, exist_ok=True)
        node.touch()
    return ok()


def _check_create(
    host: SimHost, state: State, name: str, volsize: int | None, sparse: bool
) -> None:
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
    if needed + EMPTY_REFERENCED > Space(state, zfs_data.reader(host)).available():
        raise CommandExit(1, f"cannot create '{name}': out of space")


def zfs(host: SimHost, args: list[str]) -> SimResult:
    commands = {
        "create": zfs_create,
        "destroy": zfs_destroy,
        "list": zfs_list,
        "get": zfs_get,
        "snapshot": zfs_snapshot,
        "snap": zfs_snapshot,
        "rollback": zfs_rollback,
        "clone": zfs_clone,
        "promote": zfs_promote,
        "set": zfs_set,
    }
    if not args or args[0] not in commands:
        what = f"unrecognized command '{args[0]}'" if args else "missing command"
        raise CommandExit(2, what, "usage: zfs command args ...")
    return commands[args[0]](host, args[1:])


_POOL_PROPS: tuple[str, ...] = (
    "name",
    "size",
    "allocated",
    "free",
    "checkpoint",
    "expandsize",
    "fragmentation",
)
_POOL_PROPS += ("capacity", "dedupratio", "health", "altroot")
_POOL_ALIASES = {"alloc": "allocated", "ckpoint": "checkpoint", "expandsz": "expandsize"}
_POOL_ALIASES |= {"frag": "fragmentation", "cap": "capacity", "dedup": "dedupratio"}


def _pool_value(host: SimHost, state: State, prop: str, parsable: bool) -> str:
    size = state["pool"]["size"]
    alloc = Space(state, zfs_data.reader(host)).allocated()
    sizes = {"size": size, "allocated": alloc, "free": size - alloc}
    if prop in sizes:
        return str(sizes[prop]) if parsable else nicenum(sizes[prop])
    percent = {"capacity": alloc * 100 // size, "fragmentation": 1}
    if prop in percent:
        return str(percent[prop]) if parsable else f"{percent[prop]}%"
    fixed: dict[str, str] = {
        "name": state["pool"]["name"],
        "health": "ONLINE",
        "dedupratio": "1.00",
    }
    if prop == "dedupratio" and not parsable:
        return "1.00x"
    return fixed.get(prop, "-")


def zpool(host: SimHost, args: list[str]) -> SimResult:
    if not args or args[0] != "list":
        raise CommandExit(2, f"unrecognized command '{args[0]}'" if args else "missing command")
    opts, pools = getopts(args[1:], "Hpo:gLPTv")
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
    row = [_pool_value(host, state, p, "-p" in flags) for p in props]
    header = None if "-H" in flags else [_pool_header(p) for p in props]
    return ok(zpool_table([row], header, props))


def _pool_header(prop: str) -> str:
    short = {v: k for k, v in _POOL_ALIASES.items()}
    return short.get(prop, prop).upper()
