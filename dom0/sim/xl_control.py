"""The xl lifecycle subcommands: destroy, shutdown, reboot, pause, unpause, cd-eject/insert, domid.

Shutdown and reboot act at once (no simulated delay): with PV drivers or `-F` the domain is gone
(or re-created, for reboot) by the time the command returns, so `-w` has nothing to wait for.
A guest has no PV drivers until `SimHost.set_pv_drivers(name, True)` says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import domains, vnc
from .result import CommandExit, SimResult, ok
from .state import State

if TYPE_CHECKING:
    from .host import SimHost


def _need(args: list[str], count: int, cmd: str) -> None:
    if len(args) < count:
        raise CommandExit(2, f"'xl {cmd}' requires at least {count} argument(s).")


def _positional(args: list[str], flags: str, cmd: str) -> tuple[set[str], list[str]]:
    seen: set[str] = set()
    rest = []
    for arg in args:
        if arg.startswith("-") and len(arg) > 1 and not arg.startswith("--"):
            for letter in arg[1:]:
                if letter not in flags:
                    raise CommandExit(2, f"option `{letter}' not supported.")
                seen.add(letter)
        elif arg in ("--wait", "--all"):
            seen.add(arg[2])
        else:
            rest.append(arg)
    return seen, rest


def _domu(state: State, arg: str, failure: str) -> domains.Domain:
    """Resolve a domU, failing like libxl when a numeric id names nothing (rc UNVERIFIED)."""
    domid, dom = domains.find_domain(state, arg)
    if dom is None:
        if domid == 0:
            raise CommandExit(1, f"{failure} (rc=-6)")
        raise CommandExit(
            1,
            f"libxl: error: libxl_domain.c:1510:libxl__destroy_domid: Domain {domid}:"
            "Non-existant domain",
            f"{failure} (rc=-21)",
        )
    return dom


def xl_destroy(host: SimHost, args: list[str]) -> SimResult:
    flags, rest = _positional(args, "f", "destroy")
    _need(rest, 1, "destroy")
    with host.store.edit() as state:
        domid, _ = domains.find_domain(state, rest[0])
        if domid == 0 and "f" not in flags:
            raise CommandExit(
                1,
                "Not destroying domain 0; use -f to force.",
                "This can only be done when using a disaggregated hardware domain and toolstack.",
            )
        dom = _domu(state, rest[0], "destroy failed")
        del state["domains"][dom["name"]]
        vnc.stop(dom)
    return ok()


def _shutdown_or_reboot(host: SimHost, args: list[str], reboot: bool) -> SimResult:
    cmd = "reboot" if reboot else "shutdown"
    flags, rest = _positional(args, "awF", cmd)
    if not rest and "a" not in flags:
        raise CommandExit(1, "You must specify -a or a domain id.")
    verb = "Rebooting" if reboot else "Shutting down"
    stderr: list[str] = []
    with host.store.edit() as state:
        targets = domains.domus(state) if "a" in flags else [_domu(state, rest[0], f"{cmd} failed")]
        for dom in targets:
            stderr.append(f"{verb} domain {dom['domid']}")
            if dom["type"] == "hvm" and not dom["pv_drivers"]:
                if "F" not in flags:
                    what, event = ("reboot", "reset") if reboot else ("shutdown", "power")
                    raise CommandExit(
                        1,
                        *stderr,
                        f"PV control interface not available: external graceful {what} not "
                        "possible.",
                        f'Use "-F" to fallback to ACPI {event} event.',
                        f"{cmd} failed (rc=-10)",
                    )
                event = "reset" if reboot else "power"
                stderr.append(
                    f"PV control interface not available: sending ACPI {event} button event."
                )
            _act(host, state, dom, reboot)
            if "w" in flags and not reboot:
                stderr.append(f"Domain {dom['domid']} has been destroyed")
    return ok(stderr="".join(f"{line}\n" for line in stderr))


def _act(host: SimHost, state: State, dom: domains.Domain, reboot: bool) -> None:
    action = dom["actions"]["on_reboot" if reboot else "on_poweroff"]
    now = host.now()
    if action == "preserve":
        domains.stop_clock(dom, now)
        dom["shutdown_reason"] = 1 if reboot else 0
    elif action in ("restart", "restart_rename", "coredump_restart"):
        # The xl monitoring daemon re-creates the domain under a new id.
        dom |= {"domid": state["next_domid"], "created": now, "run_since": now}
        dom |= {"cpu_acc": 0.0, "paused": False}
        state["next_domid"] += 1
        vnc.restart(host, state, dom)
    else:
        del state["domains"][dom["name"]]
        vnc.stop(dom)


def xl_shutdown(host: SimHost, args: list[str]) -> SimResult:
    return _shutdown_or_reboot(host, args, reboot=False)


def xl_reboot(host: SimHost, args: list[str]) -> SimResult:
    return _shutdown_or_reboot(host, args, reboot=True)


def _set_paused(host: SimHost, args: list[str], paused: bool) -> SimResult:
    cmd = "pause" if paused else "unpause"
    _need(args, 1, cmd)
    with host.store.edit() as state:
        _, dom = domains.find_domain(state, args[0])
        # xl ignores libxl's return value here: an id that names nothing still exits 0.
        if dom is not None and dom["paused"] != paused:
            now = host.now()
            if paused:
                domains.stop_clock(dom, now)
            else:
                dom["run_since"] = now
            dom["paused"] = paused
    return ok()


def xl_pause(host: SimHost, args: list[str]) -> SimResult:
    return _set_paused(host, args, True)


def xl_unpause(host: SimHost, args: list[str]) -> SimResult:
    return _set_paused(host, args, False)


def _cdrom(host: SimHost, args: list[str], insert: bool) -> SimResult:
    cmd = "cd-insert" if insert else "cd-eject"
    _need(args, 3 if insert else 2, cmd)
    target = args[2] if insert else ""
    if target and not host.local(target).exists():
        raise CommandExit(1, f"Cannot stat file: {target}")
    with host.store.edit() as state:
        dom = _domu(state, args[0], f"{cmd} failed")
        domid = dom["domid"]
        if dom["type"] != "hvm":
            raise CommandExit(
                1,
                f"libxl: error: libxl_disk.c:821:cdrom_insert: Domain {domid}:"
                "cdrom-insert requires an HVM domain",
            )
        disk = next((d for d in dom["disks"] if d["vdev"] == args[1]), None)
        if disk is None:
            raise CommandExit(
                1,
                f"libxl: error: libxl_disk.c:860:cdrom_insert: Domain {domid}:"
                "Virtual device not found",
            )
        disk["target"] = host.normalize(target) if target else ""
        disk["format"] = "raw" if target else "empty"
    return ok()


def xl_cd_insert(host: SimHost, args: list[str]) -> SimResult:
    return _cdrom(host, args, True)


def xl_cd_eject(host: SimHost, args: list[str]) -> SimResult:
    return _cdrom(host, args, False)


def xl_domid(host: SimHost, args: list[str]) -> SimResult:
    _need(args, 1, "domid")
    state = host.store.read()
    if args[0] == "Domain-0":
        return ok("0\n")
    dom = domains.by_name(state, args[0])
    if dom is None:
        raise CommandExit(
            1, f"Can't get domid of domain name '{args[0]}', maybe this domain does not exist."
        )
    return ok(f"{dom['domid']}\n")
