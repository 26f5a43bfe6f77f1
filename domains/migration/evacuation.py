"""Evacuating a host and its maintenance state (issue 14, item 4).

An evacuation moves every running domU of a host to the hosts the admin picked (or, with none
picked, to whichever host has the most free memory and passes the checks), one MIGRATE job per
domU under one EVACUATE parent job, then marks the host "in maintenance": no new domU is placed
there and autostart is suspended until an admin ends it. Stopped domUs stay where they are.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from dom0.migration_checks import blocking
from domains import actions
from domains.models import Domain, DomainState
from hosts.models import Host
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.enqueue import Target, enqueue
from jobs.models import Job

#: The states a domU is moved from: it exists and runs (or is paused) in the hypervisor.
RUNNING_STATES = (DomainState.RUNNING, DomainState.BLOCKED, DomainState.PAUSED)

#: What each mode costs the domU, as the confirmation says it.
MODE_TEXT = {
    "live": "live: xl migrate over shared storage, it keeps running (paused for moments at the "
    "switch)",
    "storage": "storage: its volumes are copied with zfs send while it runs, then it is shut "
    "down, what changed is sent and it starts on the target (down for that last send and a boot)",
}


@dataclass(frozen=True)
class Move:
    """What an evacuation does with one running domU: where it goes and how, or why it stays."""

    domain: Domain
    target: Host | None
    mode: str = ""
    reason: str = ""

    @property
    def mode_text(self) -> str:
        return MODE_TEXT.get(self.mode, self.mode)


# --- maintenance ---------------------------------------------------------------------------------
def maintenance_text(host: Host) -> str:
    """'xen1 is in maintenance since 2026-12-02 14:31 by ada' ('' when it is not)."""
    if not host.maintenance:
        return ""
    text = f"{host.name} is in maintenance"
    if host.maintenance_since is not None:
        since = timezone.localtime(host.maintenance_since)
        text += f" since {since:%Y-%m-%d %H:%M}"
    if host.maintenance_by is not None:
        text += f" by {host.maintenance_by}"
    return text


def maintenance_refusal(host: Host | None) -> str:
    """Why no new domU may be placed on `host` ('' when it may)."""
    text = maintenance_text(host) if host is not None else ""
    return f"{text}: choose another host." if text else ""


def enter_maintenance(host: Host, user: Any) -> bool:
    """Mark the host in maintenance (False if it already was: the first since/by stay)."""
    by = user if user is not None and getattr(user, "is_authenticated", False) else None
    return bool(
        Host.objects.filter(pk=host.pk, maintenance=False).update(
            maintenance=True, maintenance_since=timezone.now(), maintenance_by=by
        )
    )


def end_maintenance(host: Host) -> bool:
    """End the host's maintenance (False if it was not in maintenance)."""
    return bool(
        Host.objects.filter(pk=host.pk, maintenance=True).update(
            maintenance=False, maintenance_since=None, maintenance_by=None
        )
    )


def in_maintenance(host_pk: int) -> bool:
    """Read from the database: a job's host row may predate an admin's click."""
    return Host.objects.filter(pk=host_pk, maintenance=True).exists()


# --- what moves where ----------------------------------------------------------------------------
def running_domains(host: Host) -> QuerySet[Domain]:
    # The biggest first: they are the hardest to fit, so they get the pick of the free memory.
    return (
        Domain.objects.filter(host=host, state__in=RUNNING_STATES)
        .select_related("host", "owner")
        .order_by("-memory_mb", "name")
    )


def staying_domains(host: Host) -> QuerySet[Domain]:
    """The host's domUs that do not run: an evacuation leaves them where they are."""
    return Domain.objects.filter(host=host).exclude(state__in=RUNNING_STATES).order_by("name")


def unmanaged_names(host: Host) -> list[str]:
    """Domains the host's last `xl list` showed that are not the panel's: nothing moves them."""
    known = set(Domain.objects.filter(host=host).values_list("name", flat=True))
    rows = (host.facts or {}).get("domains") or []
    return sorted(
        str(r.get("name"))
        for r in rows
        if r.get("domid") != 0 and r.get("name") not in known and r.get("name") != "Domain-0"
    )


def candidate_hosts(host: Host, chosen: Sequence[Host] | None = None) -> list[Host]:
    """The hosts an evacuation of `host` may move domUs to: the chosen ones (all others when
    none were chosen), never `host` itself nor a host in maintenance; most free memory first."""
    hosts = Host.objects.exclude(pk=host.pk).filter(maintenance=False)
    if chosen:
        hosts = hosts.filter(pk__in=[h.pk for h in chosen])
    return sorted(hosts, key=lambda h: (-(h.free_memory_mib or 0), h.name))


def _booked(host: Host, taken_mib: int) -> Host:
    """A copy of `host` whose free memory leaves out what earlier domUs of this evacuation will
    take: the checks read the cached `xl info`, which knows nothing of moves not yet made."""
    if not taken_mib:
        return host
    booked = copy.copy(host)
    facts = dict(host.facts or {})
    if facts.get("free_memory_mib") is not None:
        facts["free_memory_mib"] = max(0, int(facts["free_memory_mib"]) - taken_mib)
    booked.facts = facts
    if host.free_memory_mib is not None:
        booked.free_memory_mib = max(0, host.free_memory_mib - taken_mib)
    return booked


def _why_none(domain: Domain, hosts: Sequence[Host]) -> str:
    """Why no candidate fits `domain`: each host's first refused check."""
    from domains.migration.checks import plan

    if not hosts:
        return "no other host is available (the others are in maintenance, or none was chosen)"
    reasons = []
    for target in hosts:
        refused = blocking(plan(domain, target).checks)
        reasons.append(
            f"{target.name}: {refused[0].message}" if refused else f"{target.name}: no room left"
        )
    return "no host passes the checks: " + "; ".join(reasons)


def plan_evacuation(host: Host, chosen: Sequence[Host] | None = None) -> list[Move]:
    """Where each running domU of `host` goes and in which mode, or why it cannot go."""
    # Imported where used: domains.forms imports this module for `maintenance_refusal`, and
    # should not load the migration checks (and whatever they import) with it.
    from domains.migration.checks import plan
    from domains.migration.placement import pick_target

    hosts = candidate_hosts(host, chosen)
    taken: dict[int, int] = {}
    moves: list[Move] = []
    for domain in running_domains(host):
        fitting = [
            _booked(h, taken.get(h.pk, 0))
            for h in hosts
            if h.free_memory_mib is None
            or h.free_memory_mib - taken.get(h.pk, 0) >= domain.memory_mb
        ]
        target = pick_target(domain, fitting) if fitting else None
        if target is None:
            moves.append(Move(domain, None, reason=_why_none(domain, hosts)))
            continue
        real = next(h for h in hosts if h.pk == target.pk)
        taken[real.pk] = taken.get(real.pk, 0) + domain.memory_mb
        moves.append(Move(domain, real, mode=plan(domain, real).mode))
    return moves


# --- the parent job ------------------------------------------------------------------------------
def evacuate_key(host: Host) -> str:
    """The parent job's own lock: two evacuations of one host never run at once, while the
    host's own lock stays free for the migrations it queues (they lock the host)."""
    return f"evacuate:{host.pk}"


def active_evacuation(host: Host) -> Job | None:
    return (
        Job.objects.holding([evacuate_key(host)])
        .filter(kind=actions.EVACUATE, status__in=ACTIVE_JOB_STATUSES)
        .order_by("created_at")
        .first()
    )


def queue_evacuation(host: Host, chosen: Sequence[Host] | None, *, user: Any) -> Job:
    """Queue the EVACUATE parent job; it plans again when it runs (things change meanwhile)."""
    names = ", ".join(h.name for h in chosen) if chosen else ""
    return enqueue(
        actions.EVACUATE,
        title=f"Evacuate {host.name}" + (f" to {names}" if names else ""),
        targets=[Target("host", host, lock=evacuate_key(host))],
        user=user,
        params={"host_id": host.pk, "target_ids": [h.pk for h in chosen or []]},
        # The central pool, never the host's own worker: the parent only waits on its
        # children, and on a host worker with one slot it would keep them from running.
        queue=settings.CELERY_TASK_DEFAULT_QUEUE,
    )
