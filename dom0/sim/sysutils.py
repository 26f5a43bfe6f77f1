"""FreeBSD base tools the panel reads: sysctl, sysrc, pkg, ifconfig, sha256/sha512, test."""

from __future__ import annotations

import hashlib
import re
import shlex
from typing import TYPE_CHECKING

from .result import CommandExit, SimResult, ok
from .state import State

if TYPE_CHECKING:
    from .host import SimHost

_ULONG_MAX = 2**64 - 1


def _sysctls(state: State) -> dict[str, str]:
    return {
        "vm.max_user_wired": str(state["max_user_wired"]),
        "kern.vm_guest": "xen" if state["xen_running"] else "none",
        "hw.ncpu": str(state["dom0_vcpus"] if state["xen_running"] else state["cpus"]),
        "hw.physmem": str(state["dom0_mem_mib"] * 2**20),
        "machdep.bootmethod": "BIOS",
        "kern.osrelease": "14.1-RELEASE",
        "kern.ostype": "FreeBSD",
        "kern.hostname": state["hostname"],
        "hw.machine": "amd64",
    }


def sysctl(host: SimHost, args: list[str]) -> SimResult:
    flags = {a for a in args if a.startswith("-")}
    names = [a for a in args if not a.startswith("-")]
    out: list[str] = []
    err: list[str] = []
    rc = 0
    for name in names:
        if "=" in name:
            line, problem = _sysctl_set(host, name)
            (err if problem else out).append(line)
            rc = rc or (1 if problem else 0)
            continue
        values = _sysctls(host.store.read())
        if name not in values:
            if "-i" not in flags:
                err.append(f"sysctl: unknown oid '{name}'")
                rc = 1
            continue
        out.append(values[name] if "-n" in flags else f"{name}: {values[name]}")
    return SimResult(rc, "".join(f"{x}\n" for x in out), "".join(f"{x}\n" for x in err))


def _sysctl_set(host: SimHost, assignment: str) -> tuple[str, bool]:
    name, value = assignment.split("=", 1)
    if name != "vm.max_user_wired":
        return f"sysctl: unknown oid '{name}'", True
    try:
        # An unsigned long written as -1 reads back as ULONG_MAX (UNVERIFIED on a real host).
        number = int(value, 0) & _ULONG_MAX
    except ValueError:
        return f"sysctl: invalid unsigned long '{value}'", True
    with host.store.edit() as state:
        old = state["max_user_wired"]
        state["max_user_wired"] = number
    return f"{name}: {old} -> {number}", False


def read_rc_vars(text: str) -> dict[str, str]:
    """Return the shell variable assignments of an rc.conf-style file (later ones win)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if not match:
            continue
        try:
            words = shlex.split(match.group(2), comments=True)
        except ValueError:
            continue
        values[match.group(1)] = words[0] if words else ""
    return values


def _rc_files(host: SimHost, file: str | None) -> list[str]:
    return [file] if file else ["/etc/defaults/rc.conf", "/etc/rc.conf", "/etc/rc.conf.local"]


def sysrc(host: SimHost, args: list[str]) -> SimResult:
    file, flags, names = None, set(), []
    it = iter(args)
    for arg in it:
        if arg == "-f":
            file = next(it, None)
        elif arg.startswith("-") and len(arg) > 1:
            flags |= set(arg[1:])
        else:
            names.append(arg)
    values: dict[str, str] = {}
    for path in _rc_files(host, file):
        local = host.local(path)
        if local.is_file():
            values |= read_rc_vars(local.read_text(encoding="utf-8", errors="replace"))
    out: list[str] = []
    err: list[str] = []
    rc = 0
    for name in names:
        if "=" in name:
            if "c" in flags:
                key, want = name.split("=", 1)
                rc = rc or (0 if values.get(key) == want else 1)
                continue
            out.append(_sysrc_set(host, file or "/etc/rc.conf", name, values))
            continue
        if name not in values:
            if not flags & {"i", "q"}:
                err.append(f"sysrc: unknown variable '{name}'")
            rc = 1
            continue
        out.append(values[name] if "n" in flags else f"{name}: {values[name]}")
    return SimResult(rc, "".join(f"{x}\n" for x in out), "".join(f"{x}\n" for x in err))


def _sysrc_set(host: SimHost, path: str, assignment: str, values: dict[str, str]) -> str:
    name, value = assignment.split("=", 1)
    local = host.local(path)
    text = local.read_text(encoding="utf-8") if local.is_file() else ""
    lines = [ln for ln in text.splitlines() if not re.match(rf"\s*{re.escape(name)}=", ln)]
    lines.append(f'{name}="{value}"')
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"{name}: {values.get(name, '')} -> {value}"


def pkg(host: SimHost, args: list[str]) -> SimResult:
    installed = host.store.read()["packages"]
    if args[:1] != ["info"]:
        raise CommandExit(1, f"pkg: unknown command: {args[0] if args else ''}")
    rest = args[1:]
    if "-e" in rest:
        names = [a for a in rest if not a.startswith("-")]
        return SimResult(0 if names and all(n in installed for n in names) else 1, "", "")
    return ok("".join(f"{name:<32} {version}\n" for name, version in sorted(installed.items())))


def _bridge(host: SimHost, state: State, name: str) -> str:
    members = list(state["interfaces"][name].get("members", []))
    for dom in sorted(state["domains"].values(), key=lambda d: d["domid"]):
        members += [f"xnb{dom['domid']}.{n['devid']}" for n in dom["nics"] if n["bridge"] == name]
    text = (
        f"{name}: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0"
        " mtu 1500\n"
        "\toptions=0\n\tether 58:9c:fc:10:6f:3a\n"
        "\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255\n"
        "\tid 00:00:00:00:00:00 priority 32768 hellotime 2 fwddelay 15\n"
        "\tmaxage 20 holdcnt 6 proto rstp maxaddr 2000 timeout 1200\n"
        "\troot id 00:00:00:00:00:00 priority 32768 ifcost 0 port 0\n"
    )
    for port, member in enumerate(members, start=1):
        text += (
            f"\tmember: {member} flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>\n"
            f"\t        ifmaxaddr 0 port {port} priority 128 path cost 2000\n"
        )
    return text + "\tgroups: bridge\n\tnd6 options=9<PERFORMNUD,IFDISABLED>\n"


def ifconfig(host: SimHost, args: list[str]) -> SimResult:
    state = host.store.read()
    if not args or args == ["-l"]:
        return ok(" ".join(state["interfaces"]) + "\n")
    name = args[0]
    if name not in state["interfaces"]:
        raise CommandExit(1, f"ifconfig: interface {name} does not exist")
    if state["interfaces"][name].get("kind") == "bridge":
        return ok(_bridge(host, state, name))
    return ok(
        f"{name}: flags=1008943<UP,BROADCAST,RUNNING,PROMISC,SIMPLEX,MULTICAST,LOWER_UP> "
        "metric 0 mtu 1500\n\toptions=4e504bb<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING>\n"
        "\tether 00:25:90:5a:1c:42\n\tmedia: Ethernet autoselect (1000baseT <full-duplex>)\n"
        "\tstatus: active\n\tnd6 options=29<PERFORMNUD,IFDISABLED,AUTO_LINKLOCAL>\n"
    )


def digest(host: SimHost, tool: str, args: list[str], stdin: bytes | None) -> SimResult:
    quiet = "-q" in args
    files = [a for a in args if not a.startswith("-")]
    if not files:
        return ok(hashlib.new(tool, stdin or b"").hexdigest() + "\n")
    out: list[str] = []
    err: list[str] = []
    rc = 0
    for name in files:
        try:
            local = host.local(name)
            hasher = hashlib.new(tool)
            with local.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    hasher.update(chunk)
        except (OSError, ValueError):
            err.append(f"{tool}: {name}: No such file or directory")
            rc = 1
            continue
        hexdigest = hasher.hexdigest()
        out.append(hexdigest if quiet else f"{tool.upper()} ({name}) = {hexdigest}")
    return SimResult(rc, "".join(f"{x}\n" for x in out), "".join(f"{x}\n" for x in err))


def test(host: SimHost, args: list[str]) -> SimResult:
    if len(args) != 2 or args[0] not in ("-d", "-f", "-e", "-c", "-s"):
        raise CommandExit(2, "test: unsupported expression")
    op, name = args
    try:
        local = host.local(name)
    except ValueError:
        return SimResult(1, "", "")
    device = host.normalize(name).startswith("/dev/") and local.is_file()
    checks = {
        "-e": local.exists(),
        "-d": local.is_dir(),
        "-f": local.is_file() and not device,
        "-c": device,
        "-s": local.is_file() and local.stat().st_size > 0,
    }
    return SimResult(0 if checks[op] else 1, "", "")
