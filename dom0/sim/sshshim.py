"""The simulator's `ssh`: how one simulated Dom0 reaches another (for `xl migrate`, `zfs recv`).

`ssh [options] [user@]<host> <command...>` takes OpenSSH's options (and ignores them: keys and
host keys mean nothing between two state directories), finds the simulated host named `<host>`
and runs the command there as its sshd would: words split like the remote shell, the tool run
through cli.main with this process's stdin/stdout/stderr, so bytes stream both ways.

A host name is found, in order: in `<state_dir>/peers.json` ({"name": "/path/to/state_dir"},
written by `register_peer`), as a sibling state directory `<state_dir>/../<name>` (how
hosts.simhosts lays out SIM_DIR), or as a sibling whose hostname is `<name>`. A name found
nowhere fails like ssh with exit 255; so does a peer with the "unreachable" fault.
"""

from __future__ import annotations

import getopt
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

PEERS = "peers.json"
NETBIN = "netbin"
#: OpenSSH's ssh.c getopt string.
_SSH_OPTS = "1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:P:Q:R:S:TVw:W:XYy"
_METACHARS = set("|&;<>()$`\\\"'*?[]#{}\n")

_TEMPLATE = """\
#!{python}
# Simulated `ssh` from the host in {state_dir} (written by dom0.sim.sshshim).
import sys

sys.path.insert(0, {root!r})
from dom0.sim.sshshim import main

sys.exit(main({state_dir!r}, sys.argv[1:]))
"""


def write_ssh_shim(state_dir: str | Path, out_dir: str | Path) -> Path:
    """Write the `ssh` shim of the host in `state_dir` into `out_dir`; return its path."""
    from .shims import PROJECT_ROOT

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    shim = out / "ssh"
    text = _TEMPLATE.format(
        python=sys.executable, state_dir=str(Path(state_dir).resolve()), root=str(PROJECT_ROOT)
    )
    if not shim.is_file() or shim.read_text(encoding="utf-8") != text:
        tmp = out / ".ssh.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o755)
        tmp.replace(shim)
    return shim


def ensure_netbin(state_dir: str | Path) -> Path:
    """Return the directory with this host's `ssh` shim (put first in PATH by xl migrate)."""
    out = Path(state_dir) / NETBIN
    write_ssh_shim(state_dir, out)
    return out.resolve()


def register_peer(state_dir: str | Path, name: str, peer_state_dir: str | Path) -> None:
    """Let the host in `state_dir` reach the host in `peer_state_dir` as `name`."""
    file = Path(state_dir) / PEERS
    peers = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
    peers[name] = str(Path(peer_state_dir).resolve())
    file.write_text(json.dumps(peers, indent=1, sort_keys=True), encoding="utf-8")


def resolve(state_dir: str | Path, name: str) -> Path | None:
    """Return the state directory of the simulated host called `name`, seen from `state_dir`."""
    here = Path(state_dir).resolve()
    file = here / PEERS
    if file.is_file():
        peers = json.loads(file.read_text(encoding="utf-8"))
        if name in peers:
            return Path(peers[name])
    if "/" not in name and name not in ("", ".", ".."):
        sibling = here.parent / name
        if (sibling / "state.json").is_file():
            return sibling
    for candidate in sorted(here.parent.iterdir()):
        state = candidate / "state.json"
        if candidate != here and state.is_file():
            try:
                if json.loads(state.read_text(encoding="utf-8")).get("hostname") == name:
                    return candidate
            except (OSError, ValueError):
                continue
    return None


def parse(argv: Sequence[str]) -> tuple[str, list[str]]:
    """Return (destination, remote command words) of an ssh command line, or raise ValueError."""
    args = list(argv)
    try:
        _opts, rest = getopt.getopt(args, _SSH_OPTS)
        if not rest:
            raise ValueError("no destination")
        target, rest = rest[0], rest[1:]
        # OpenSSH takes options after the destination too, up to the command.
        _more, rest = getopt.getopt(rest, _SSH_OPTS)
    except getopt.GetoptError as exc:
        raise ValueError(str(exc)) from exc
    return target.rsplit("@", 1)[-1], rest


def main(state_dir: str | Path, argv: Sequence[str]) -> int:
    from .cli import main as run_tool

    try:
        target, command = parse(argv)
    except ValueError:
        sys.stderr.write(
            "usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface] [-b bind_address]\n"
            "           [-c cipher_spec] [-D [bind_address:]port] [-E log_file]\n"
            "           [-e escape_char] [-F configfile] [-I pkcs11] [-i identity_file]\n"
            "           [-J destination] [-L address] [-l login_name] [-m mac_spec]\n"
            "           [-O ctl_cmd] [-o option] [-P tag] [-p port] [-R address]\n"
            "           [-S ctl_path] [-W host:port] [-w local_tun[:remote_tun]]\n"
            "           destination [command [argument ...]]\n"
        )
        return 255
    peer = resolve(state_dir, target)
    if peer is None:
        # UNVERIFIED wording: FreeBSD's gai_strerror(EAI_NONAME).
        sys.stderr.write(f"ssh: Could not resolve hostname {target}: Name does not resolve\n")
        return 255
    line = " ".join(command)
    if not line or any(ch in _METACHARS for ch in line):
        # The simulated sshd runs one simple command; pipes and quoting stay out of it.
        sys.stderr.write(f"sim ssh: only a simple command can run on {target}: {line!r}\n")
        return 255
    words = shlex.split(line)
    if words[0] == "exec":
        words = words[1:]
    return run_tool(peer, words[0].rsplit("/", 1)[-1], words[1:])
