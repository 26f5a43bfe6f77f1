"""Write executable shims (`xl`, `zfs`, ...) that run the simulator for one host.

Every path is embedded (python, project root, state dir), so the shims behave the same under a
real sshd, with any PATH and no environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

SHIM_TOOLS = (
    "xl",
    "zfs",
    "zpool",
    "fetch",
    "sysctl",
    "sysrc",
    "pkg",
    "ifconfig",
    "sha256",
    "sha512",
    "pciconf",
    "ssh-keygen",
    "chmod",
    "sh",
    "getent",
    "xentop",
)
PROJECT_ROOT = Path(__file__).resolve().parents[2]

_TEMPLATE = """\
#!{python}
# Simulated FreeBSD `{tool}` for the host in {state_dir} (written by dom0.sim.make_shims).
import sys

sys.path.insert(0, {root!r})
from dom0.sim.cli import main

sys.exit(main({state_dir!r}, {tool!r}, sys.argv[1:]))
"""


def make_shims(state_dir: str | Path, out_dir: str | Path) -> Path:
    """Write the shims for the host in `state_dir` into `out_dir` and return `out_dir`.

    Besides the tools, `ssh` is the simulator's (sshshim.py): run on this host, it reaches
    another simulated host by name, as `xl migrate` and a Dom0-to-Dom0 `zfs send | ssh ... zfs
    recv` need.
    """
    from .sshshim import write_ssh_shim

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    state = str(Path(state_dir).resolve())
    for tool in SHIM_TOOLS:
        shim = out / tool
        shim.write_text(
            _TEMPLATE.format(
                python=sys.executable, tool=tool, state_dir=state, root=str(PROJECT_ROOT)
            ),
            encoding="utf-8",
        )
        shim.chmod(0o755)
    write_ssh_shim(state_dir, out)
    return out
