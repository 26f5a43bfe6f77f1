"""Where a domU should go: the host with the most free memory that fits (issue 14, item 5).

Both read the hosts' cached facts only (no host is asked): `suggest_host` for a new domU (the
new-domU form), `pick_target` for a domU that must move (evacuation).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from domains.migration.checks import is_ready, plan
from domains.models import Domain
from hosts.access import hosts_for_user
from hosts.choices import HostStatus
from hosts.models import Host

__all__ = ["by_free_memory", "pick_target", "placeable", "suggest_host"]


def by_free_memory(hosts: Iterable[Host]) -> list[Host]:
    """Most free memory first (unknown last), then by name so ties read the same every time."""
    return sorted(hosts, key=lambda h: (-(h.free_memory_mib or -1), h.name))


def placeable(user: Any, *, exclude: Iterable[Host | int] = ()) -> list[Host]:
    """Hosts a new or moved domU may go to: visible, reachable, not in maintenance, not failing
    readiness (a host never checked counts, as the new-domU form has always allowed it)."""
    keys = [h.pk if isinstance(h, Host) else h for h in exclude]
    hosts = hosts_for_user(user).filter(status=HostStatus.OK, maintenance=False)
    hosts = hosts.exclude(pk__in=keys).exclude(Q(free_memory_mib__isnull=True))
    return [h for h in hosts if is_ready(h) is not False]


def suggest_host(
    memory_mb: int, vcpus: int, *, user: Any, exclude: Iterable[Host | int] = ()
) -> Host | None:
    """Return the placeable host with the most free memory that fits, or None."""
    for host in by_free_memory(placeable(user, exclude=exclude)):
        if (host.free_memory_mib or 0) >= memory_mb and (host.nr_cpus or 0) >= vcpus:
            return host
    return None


def pick_target(domain: Domain, candidates: Iterable[Host]) -> Host | None:
    """Return the first candidate whose plan does not block, most free memory first."""
    for host in by_free_memory(h for h in candidates if h.pk != domain.host_id):
        if not plan(domain, host).blocking:
            return host
    return None
