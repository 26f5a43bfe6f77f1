"""Create a simulated host, and flip the Dom0 readiness facts it shows (handbook §A).

The seeded filesystem (under `<state_dir>/root`) holds what a prepared FreeBSD 14.1 Dom0 has:
- /etc/login.conf (+ a newer login.conf.db): the `default` class with `:memorylocked=unlimited:`
  (`64K` when unready);
- /etc/ttys with the Xen console line `xc0 "/usr/libexec/getty Pc" xterm onifconsole secure`;
- /etc/sysctl.conf with `vm.max_user_wired=-1` (absent when unready);
- /boot/loader.conf with `xen_kernel` and `xen_cmdline`, and the Xen kernel /boot/xen;
- /etc/rc.conf with `xencommons_enable="YES"`, `cloned_interfaces="bridge0"`,
  `ifconfig_bridge0="addm em0 SYNCDHCP"`; /etc/defaults/rc.conf with a few stock defaults;
- directories: /var/log/xen (Xen's logs), /var/run/xen, /usr/local/etc/xen (xl.conf, the
  default place for domU configs), /var/lib/xenpanel/isos (the panel's ISO directory), /root
  (the working directory of commands);
- device nodes (empty marker files): /dev/xen/xenstored, /dev/xen/privcmd, /dev/zvol/<volume>.
The pool holds `<pool>`, `<pool>/ROOT`, `<pool>/ROOT/default`, the volumes' parent filesystem
(`<pool>/xen` by default) and one volume the panel does not know, `<parent>/legacy0` (to import).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from . import zfs_space
from .fs import to_local
from .state import State, StateStore

CONFIG_DIR = "/usr/local/etc/xen"
ISO_DIR = "/var/lib/xenpanel/isos"
LOG_DIR = "/var/log/xen"
READINESS_ITEMS = (
    "hvm",
    "xen_pkg",
    "max_wired",
    "memorylocked",
    "ttys",
    "loader",
    "logdir",
    "xencommons",
    "bridge",
    "xen_running",
)
#: vm.max_user_wired before anyone sets it (a plausible default for a 32 GiB machine).
DEFAULT_MAX_USER_WIRED = 2615473
_ULONG_MAX = 2**64 - 1
_PACKAGES = {"xen-kernel": "4.18.0", "xen-tools": "4.18.0_1"}

_LOGIN_CONF = """\
# login.conf - login class capabilities database.
default:\\
\t:passwd_format=sha512:\\
\t:copyright=/etc/COPYRIGHT:\\
\t:welcome=/var/run/motd:\\
\t:setenv=BLOCKSIZE=K:\\
\t:mail=/var/mail/$:\\
\t:path=/sbin /bin /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin ~/bin:\\
\t:nologin=/var/run/nologin:\\
\t:cputime=unlimited:\\
\t:datasize=unlimited:\\
\t:stacksize=unlimited:\\
\t:memorylocked={memorylocked}:\\
\t:memoryuse=unlimited:\\
\t:filesize=unlimited:\\
\t:coredumpsize=unlimited:\\
\t:openfiles=unlimited:\\
\t:maxproc=unlimited:\\
\t:umask=022:

daemon:\\
\t:memorylocked=128M:\\
\t:tc=default:
"""
_TTYS = """\
# name\tgetty\t\t\t\ttype\tstatus\t\tcomments
console\tnone\t\t\t\tunknown\toff secure
ttyv0\t"/usr/libexec/getty Pc"\t\txterm\tonifexists secure
ttyu0\t"/usr/libexec/getty 3wire"\tvt100\tonifconsole secure
"""
_XC0 = 'xc0     "/usr/libexec/getty Pc"         xterm   onifconsole  secure'
_DEFAULTS_RC = """\
# Stock defaults (a few of them); rc.conf overrides these.
hostname=""
cloned_interfaces=""
sshd_enable="NO"
zfs_enable="NO"
"""


def _edit_lines(path: Path, pattern: str, line: str | None) -> None:
    """Drop the lines matching `pattern`, then append `line` if given."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    kept = [ln for ln in text.splitlines() if not re.match(pattern, ln)]
    if line is not None:
        kept.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def _touch(path: Path, present: bool, directory: bool = False) -> None:
    if not present:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(exist_ok=True) if directory else path.touch()


def apply_readiness(root: Path, state: State, item: str, ok: bool) -> None:
    """Make one readiness item pass or fail, in the state and in the files under `root`."""
    if item not in READINESS_ITEMS:
        raise ValueError(f"unknown readiness item {item!r}; one of {', '.join(READINESS_ITEMS)}")

    def at(host_path: str) -> Path:
        return to_local(root, host_path)

    if item == "hvm":
        state["hvm"] = ok
    elif item == "xen_pkg":
        state["packages"] = (
            {**state["packages"], **_PACKAGES}
            if ok
            else {k: v for k, v in state["packages"].items() if k not in _PACKAGES}
        )
    elif item == "max_wired":
        state["max_user_wired"] = _ULONG_MAX if ok else DEFAULT_MAX_USER_WIRED
        _edit_lines(
            at("/etc/sysctl.conf"),
            r"vm\.max(_user)?_wired=",
            "vm.max_user_wired=-1" if ok else None,
        )
    elif item == "memorylocked":
        login = at("/etc/login.conf")
        login.write_text(_LOGIN_CONF.format(memorylocked="unlimited" if ok else "64K"), "utf-8")
        db = at("/etc/login.conf.db")
        db.write_bytes(b"cap_mkdb\n")
        stamp = login.stat().st_mtime + 1
        os.utime(db, (stamp, stamp))
    elif item == "ttys":
        _edit_lines(at("/etc/ttys"), r"xc0\s", _XC0 if ok else None)
    elif item == "loader":
        loader = at("/boot/loader.conf")
        _edit_lines(loader, r"xen_kernel=", 'xen_kernel="/boot/xen"' if ok else None)
        cmdline = f'xen_cmdline="{state["xen_commandline"]}"' if ok else None
        _edit_lines(loader, r"xen_cmdline=", cmdline)
        _touch(at("/boot/xen"), ok)
    elif item == "logdir":
        _touch(at(LOG_DIR), ok, directory=True)
    elif item == "xencommons":
        _edit_lines(
            at("/etc/rc.conf"), r"xencommons_enable=", 'xencommons_enable="YES"' if ok else None
        )
    elif item == "bridge":
        rc = at("/etc/rc.conf")
        _edit_lines(rc, r"cloned_interfaces=", 'cloned_interfaces="bridge0"' if ok else None)
        addm = 'ifconfig_bridge0="addm em0 SYNCDHCP"' if ok else None
        _edit_lines(rc, r"ifconfig_bridge0=", addm)
        interfaces = {k: v for k, v in state["interfaces"].items() if k != "bridge0"}
        if ok:
            interfaces["bridge0"] = {"kind": "bridge", "members": ["em0"]}
        state["interfaces"] = interfaces
    elif item == "xen_running":
        state["xen_running"] = ok
        _touch(at("/dev/xen/xenstored"), ok)
        _touch(at("/dev/xen/privcmd"), ok)


def _initial_state(
    hostname: str, total: int, dom0: int, cpus: int, pool: str, pool_size: int, parent: str
) -> State:
    dom0_vcpus = min(4, cpus)
    datasets: dict[str, Any] = {}
    for name in (pool, f"{pool}/ROOT", f"{pool}/ROOT/default", parent):
        datasets[name] = zfs_space.new_dataset("filesystem")
    datasets[pool]["props"] = {"mountpoint": f"/{pool}"}
    datasets[f"{pool}/ROOT"]["props"] = {"mountpoint": "none"}
    datasets[f"{pool}/ROOT/default"] |= {"referenced": 6 * 2**30, "props": {"mountpoint": "/"}}
    datasets[f"{parent}/legacy0"] = zfs_space.new_dataset("volume", 10 * 2**30)
    datasets[f"{parent}/legacy0"]["referenced"] = 3 * 2**30
    return {
        "hostname": hostname,
        "total_mem_mib": total,
        "dom0_mem_mib": dom0,
        "cpus": cpus,
        "dom0_vcpus": dom0_vcpus,
        "xen_commandline": (
            f"dom0_mem={dom0}M dom0_max_vcpus={dom0_vcpus} dom0=pvh console=com1,vga "
            "com1=115200,8n1 guest_loglvl=all loglvl=all"
        ),
        "boot_id": str(uuid.uuid4()),
        "boot_time": time.time(),
        "next_domid": 1,
        "domains": {},
        "pool": {"name": pool, "size": pool_size},
        "datasets": datasets,
        "faults": {"latency_ms": 0, "unreachable": False, "fail": {}},
        "hvm": True,
        "xen_running": True,
        "max_user_wired": _ULONG_MAX,
        "packages": {"pkg": "1.21.3", **_PACKAGES},
        "interfaces": {"em0": {"kind": "ether"}, "lo0": {"kind": "loop"}},
    }


def seed_files(root: Path, state: State) -> None:
    """Write the stock files; the readiness items then add or remove their parts."""
    for directory in ("/root", CONFIG_DIR, ISO_DIR, "/var/run/xen", "/etc/defaults", "/boot"):
        to_local(root, directory).mkdir(parents=True, exist_ok=True)
    to_local(root, "/etc/ttys").write_text(_TTYS, encoding="utf-8")
    to_local(root, "/etc/defaults/rc.conf").write_text(_DEFAULTS_RC, encoding="utf-8")
    to_local(root, "/etc/rc.conf").write_text(
        f'hostname="{state["hostname"]}"\nifconfig_em0="up"\nsshd_enable="YES"\nzfs_enable="YES"\n',
        encoding="utf-8",
    )
    to_local(root, "/etc/sysctl.conf").write_text("# sysctl.conf\n", encoding="utf-8")
    to_local(root, "/boot/loader.conf").write_text('zfs_load="YES"\nif_tap_load="YES"\n', "utf-8")
    to_local(root, f"{CONFIG_DIR}/xl.conf").write_text("# xl.conf - global xl settings\n", "utf-8")
    for name, ds in state["datasets"].items():
        if ds["type"] == "volume":
            node = to_local(root, f"/dev/zvol/{name}")
            node.parent.mkdir(parents=True, exist_ok=True)
            node.touch()


def seed_state_dir(
    state_dir: Path,
    *,
    profile: str,
    hostname: str,
    total_mem_mib: int,
    dom0_mem_mib: int,
    cpus: int,
    pool: str,
    pool_size: int,
    volumes_parent: str | None,
) -> None:
    """Create or reset the state directory of a simulated host."""
    if profile not in ("ready", "unready"):
        raise ValueError(f"unknown profile {profile!r}; use 'ready' or 'unready'")
    parent = volumes_parent or f"{pool}/xen"
    if not parent.startswith(pool + "/"):
        raise ValueError(f"volumes_parent {parent!r} must be inside pool {pool!r}")
    state_dir.mkdir(parents=True, exist_ok=True)
    root = state_dir / "root"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir()
    state = _initial_state(hostname, total_mem_mib, dom0_mem_mib, cpus, pool, pool_size, parent)
    seed_files(root, state)
    for item in READINESS_ITEMS:
        ready = profile == "ready" or item not in ("memorylocked", "max_wired")
        apply_readiness(root, state, item, ready)
    StateStore(state_dir).replace(state)
