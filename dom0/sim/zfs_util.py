"""Helpers shared by the simulated zfs subcommands: option parsing, usage, busy volumes."""

from __future__ import annotations

import getopt
from typing import TYPE_CHECKING, Any

from .result import CommandExit
from .state import State

if TYPE_CHECKING:
    from .host import SimHost

#: zfs_main.c get_usage() lines, printed after "usage:" by usage(B_FALSE), which exits 2.
USAGE = {
    "snapshot": ("\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...",),
    "rollback": ("\trollback [-rRf] <snapshot>",),
    "clone": ("\tclone [-p[p]u] [-o property=value] ... <snapshot> <filesystem|volume>",),
    "promote": ("\tpromote <clone-filesystem>",),
    "set": ("\tset [-u] <property=value> ... <filesystem|volume|snapshot> ...",),
    "destroy": (
        "\tdestroy [-fnpRrv] <filesystem|volume>",
        "\tdestroy [-dnpRrv] <filesystem|volume>@<snap>[%<snap>][,...]",
        "\tdestroy <filesystem|volume>#<bookmark>",
    ),
}


def usage(command: str, *before: str) -> CommandExit:
    """Return the exit of zfs's usage(B_FALSE): the lines before, then the usage, exit 2."""
    return CommandExit(2, *before, "usage:", *USAGE.get(command, ()))


def getopts(args: list[str], spec: str) -> tuple[list[tuple[str, str]], list[str]]:
    try:
        return getopt.getopt(args, spec)
    except getopt.GetoptError as exc:
        if exc.opt and "requires argument" in exc.msg:
            raise CommandExit(2, f"missing argument for '{exc.opt}' option") from exc
        raise CommandExit(2, f"invalid option '{exc.opt}'") from exc


def busy(host: SimHost, state: State, name: str) -> bool:
    """Tell whether a volume is open: a domU has its device node as a disk (blkback)."""
    if state["datasets"].get(name, {}).get("type") != "volume":
        return False
    node = f"/dev/zvol/{name}"
    return any(
        disk["target"] and host.normalize(disk["target"]) == node
        for dom in state["domains"].values()
        for disk in dom["disks"]
    )


#: zfs's volmode values (geom is the old name of full).
VOLMODES = {"default": "default", "full": "full", "geom": "full", "dev": "dev", "none": "none"}


def create_props(
    opts: list[tuple[str, str]], target: str, allowed: set[str], *, missing_rc: int
) -> dict[str, str]:
    """Return the `-o key=value` properties of `zfs create`/`zfs clone`, refused as zfs does."""
    props: dict[str, str] = {}
    for flag, value in opts:
        if flag != "-o":
            continue
        key, sep, val = value.partition("=")
        if not sep:
            raise CommandExit(missing_rc, "missing '=' for property=value argument")
        if key not in allowed:
            raise CommandExit(1, f"cannot create '{target}': invalid property '{key}'")
        if key == "volmode":
            if val not in VOLMODES:
                raise CommandExit(
                    1,
                    f"cannot create '{target}': 'volmode' must be one of "
                    "'default | full | geom | dev | none'",
                )
            val = VOLMODES[val]
        if key == "readonly" and val not in ("on", "off"):
            raise CommandExit(1, f"cannot create '{target}': 'readonly' must be one of 'on | off'")
        props[key] = val
    return props


def open_snapshot(state: State, name: str) -> dict[str, Any]:
    """Return the snapshot `name`, refused as zfs refuses a missing one or a non-snapshot."""
    ds = state["datasets"].get(name)
    if ds is None:
        raise CommandExit(1, f"cannot open '{name}': dataset does not exist")
    if ds["type"] != "snapshot":
        # UNVERIFIED for `zfs send` of a volume: real zfs sends its current state.
        raise CommandExit(
            1, f"cannot open '{name}': operation not applicable to datasets of this type"
        )
    snapshot: dict[str, Any] = ds
    return snapshot
