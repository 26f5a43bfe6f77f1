"""The simulated FreeBSD Xen Dom0: the other side of the wire, standard library only.

It imports nothing from the panel and parses argv and xl config files with its own code, so a bug
in the panel's builders or parsers cannot hide on both sides. Formats, error texts and exit codes
follow shared/design/xen-cli-facts.md.
"""

from __future__ import annotations

from pathlib import Path

from .host import SimHost
from .result import SimResult, SimTimeout, SimUnreachable
from .seed import READINESS_ITEMS, seed_state_dir
from .shims import make_shims

__all__ = [
    "READINESS_ITEMS",
    "SimHost",
    "SimResult",
    "SimTimeout",
    "SimUnreachable",
    "make_shims",
    "seed_host",
]


def seed_host(
    state_dir: str | Path,
    *,
    profile: str = "ready",
    hostname: str = "xen1",
    total_mem_mib: int = 32768,
    dom0_mem_mib: int = 8192,
    cpus: int = 8,
    pool: str = "zroot",
    pool_size: int = 500 * 2**30,
    volumes_parent: str | None = None,
    vnc_servers: bool = False,
) -> SimHost:
    """Create (or reset) a simulated host and return it.

    profile "ready" passes every readiness item; "unready" fails exactly two: memorylocked is
    64K in /etc/login.conf and vm.max_user_wired is not -1. volumes_parent defaults to
    "<pool>/xen". vnc_servers=True runs a real VNC server per domU with `vnc = 1` (vnc.py).
    """
    seed_state_dir(
        Path(state_dir),
        profile=profile,
        hostname=hostname,
        total_mem_mib=total_mem_mib,
        dom0_mem_mib=dom0_mem_mib,
        cpus=cpus,
        pool=pool,
        pool_size=pool_size,
        volumes_parent=volumes_parent,
    )
    host = SimHost(state_dir)
    if vnc_servers:
        host.set_vnc_servers(True)
    return host
