"""Whether the target lets the source in, and whether the domU's console may live there (issue 14
review): two check rows of the migration plan, asked again by the job before anything moves.

Key: the direct disk transfer and `xl migrate` run ssh on the source with its migration key, so
the target's authorized_keys must hold that key — which the migration access set-up records
(`hosts.migration_access.accepts`). Two simulated hosts need no key: the simulator's ssh finds
its peer by name and checks none (live migration between them works without a set-up).

VNC: a domU whose console listens beyond loopback may only move to a host that allows that
(`hosts.vnc_exposure`); it would otherwise bring an exposed console onto a host whose admin said no.
"""

from __future__ import annotations

from dom0.migration_checks import FAIL, PASS, Check
from domains.models import Domain
from hosts import migration_access, vnc_exposure
from hosts.choices import MigrationTransfer
from hosts.models import Host

LIVE = "live"


def needs_key(source: Host, target: Host, mode: str) -> bool:
    """Whether this move runs ssh from the source to the target with the migration key."""
    if mode == LIVE:
        both_simulated = migration_access.simulated(source) and migration_access.simulated(target)
        return not both_simulated
    return source.migration_transfer == MigrationTransfer.DIRECT


def key_problem(source: Host, target: Host, mode: str) -> str:
    """Why the target would refuse the source's ssh ('' when it accepts, or no ssh is used)."""
    if not needs_key(source, target, mode):
        return ""
    how = "migrates live" if mode == LIVE else "sends disks directly to other Dom0s"
    if not source.migration_public_key:
        return (
            f"{source.name} {how} with its migration key, but its migration access was never "
            f"set up: on {source.name}'s page, use “Set up migration access” (tick {target.name})"
            + ("" if mode == LIVE else ", or switch its transfer path to “relay”")
            + "."
        )
    if not migration_access.accepts(target, source):
        return (
            f"{target.name} does not accept {source.name}'s migration key yet: set up migration "
            f"access on {source.name}'s page with {target.name} ticked."
        )
    return ""


def key_check(source: Host, target: Host, mode: str) -> Check | None:
    """The plan's row for the key (None when this move uses no ssh between the hosts)."""
    label = f"{target.name} accepts {source.name}'s migration key"
    if not needs_key(source, target, mode):
        if mode == LIVE:
            return Check("migration_key", PASS, label, "Simulated hosts: trusted by name.")
        return None
    problem = key_problem(source, target, mode)
    if problem:
        return Check("migration_key", FAIL, label, f"Set up migration access on "
                     f"{source.name}'s page. {problem}")  # fmt: skip
    return Check("migration_key", PASS, label, f"{target.name}'s authorized_keys holds it.")


def vnc_problem(domain: Domain, target: Host) -> str:
    """Why the domU's VNC listen address may not move to `target` ('' when it may)."""
    listen = domain.vnc_listen or ""
    if vnc_exposure.is_loopback(listen) or not listen or target.vnc_exposure_allowed:
        return ""
    return (
        f"{domain.name}'s VNC listens on {listen} (not loopback), and {target.name} does not "
        f"allow VNC beyond loopback: set its VNC listen to 127.0.0.1 on its edit page, or have "
        f"an admin allow it in {target.name}'s settings."
    )


def vnc_check(domain: Domain, target: Host) -> Check:
    problem = vnc_problem(domain, target)
    if problem:
        return Check("vnc_exposure", FAIL, "VNC exposure", problem)
    listen = domain.vnc_listen or "127.0.0.1"
    return Check("vnc_exposure", PASS, "VNC exposure", f"VNC listens on {listen}: allowed there.")


def access_checks(domain: Domain, source: Host, target: Host, mode: str) -> list[Check]:
    key = key_check(source, target, mode)
    return [*([key] if key else []), vnc_check(domain, target)]
