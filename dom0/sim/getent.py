"""The simulator's `getent passwd <user>`: the migration access set-up reads the target login's
home directory with it (hosts/migration_access.py) instead of guessing.

FreeBSD's getent (usr.bin/getent, since 7.0) prints the passwd(5) line
`name:*:uid:gid:gecos:home:shell` and exits 0; an unknown key exits 2 with nothing printed; an
unknown database or no database exits 1 with a usage line. The simulated Dom0 knows `root`
(`/root`, uid 0) and answers any other login name as an account made by `adduser`
(`/home/<user>`), which is what the tests' non-root ssh users are.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .result import SimResult, fail, ok

if TYPE_CHECKING:
    from .host import SimHost

_USAGE = "usage: getent database [key ...]"
_USER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")


def getent(host: SimHost, args: list[str]) -> SimResult:
    if not args:
        return fail(1, _USAGE)
    if args[0] != "passwd":
        return fail(1, f"Unknown database: {args[0]}", _USAGE)
    lines = []
    for user in args[1:] or ["root"]:
        if not _USER_RE.fullmatch(user):
            return fail(2)
        if user == "root":
            lines.append("root:*:0:0:Charlie &:/root:/bin/sh")
        else:
            lines.append(f"{user}:*:1001:1001:{user}:/home/{user}:/bin/sh")
    return ok("".join(f"{line}\n" for line in lines))


#: Registered in SimHost's tool table (host.py).
TOOLS = {"getent": lambda host, args, stdin: getent(host, args)}
