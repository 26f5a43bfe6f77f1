"""Reconcile domUs with what a host's `xl list` showed; notice a Dom0 reboot; queue autostart.

FreeBSD has no xendomains rc script: after a Dom0 reboot only Domain-0 comes back. Every host
refresh/poll (beat, every minute by default) sends `hosts.signals.listing_observed` with the rows
it just read; `on_listing_observed` (connected in `DomainsConfig.ready`) hands them on here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from domains import actions, records
from domains.migration.evacuation import in_maintenance
from domains.models import Domain
from hosts.models import Host
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job, JobTarget

#: A domU whose job ended this recently is left for the next poll: the `xl list` a poll compares
#: may have been read before that job's work.
SETTLE_AFTER = timedelta(seconds=30)


def rebooted(
    previous: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], dom0_cpu_seconds: float | None
) -> str | None:
    """Return why the host looks rebooted since `previous` facts, or None.

    Domain-0's CPU time only grows while the host is up, and domain ids only increase; either
    going back means the hypervisor started again.
    """
    before = previous.get("dom0_cpu_seconds")
    if before is not None and dom0_cpu_seconds is not None and dom0_cpu_seconds < before:
        return f"Domain-0 CPU time went back from {before:.1f}s to {dom0_cpu_seconds:.1f}s"
    old_ids = {d["name"]: d["domid"] for d in previous.get("domains") or [] if d.get("domid")}
    for row in rows:
        old = old_ids.get(row["name"])
        if old is not None and row["domid"] < old:
            return f"{row['name']} came back with a lower domain id ({old} → {row['domid']})"
    return None


def autostart_candidates(domains: Sequence[Domain], present: set[str]) -> list[Domain]:
    """Return the autostart domUs that should run but are missing, in their start order."""
    missing = [d for d in domains if d.autostart and d.should_run and d.name not in present]
    return sorted(missing, key=lambda d: (d.autostart_order, d.name))


def observe_domains(
    host: Host, rows: list[dict[str, Any]], *, dom0_cpu_seconds: float | None
) -> None:
    """Called by every host refresh/poll after `xl list`, inside the worker.

    `host.facts` still holds the previous refresh's facts here (they are saved afterwards), so
    they are what this listing is compared with. Only a Dom0 reboot queues autostart: a domU
    that is gone while the host stayed up was powered off or crashed on its own, and stays off.
    """
    domains = records.apply_rows(host.pk, rows)
    present = {str(r["name"]) for r in rows}
    reason = rebooted(host.facts or {}, rows, dom0_cpu_seconds)
    if reason is None:
        settle_stopped(host, domains, present)
        return
    candidates = autostart_candidates(domains, present)
    if candidates and in_maintenance(host.pk):
        return  # autostart is suspended while the host is in maintenance
    if candidates and not _autostart_pending(host):
        actions.queue_autostart(host, [d.pk for d in candidates], reason=reason)


def stopped_on_their_own(
    domains: Sequence[Domain], present: set[str], busy: set[str]
) -> list[Domain]:
    """Return the domUs that should run but are gone, with no job of the panel's behind it."""
    return [d for d in domains if d.should_run and d.name not in present and d.lock_key not in busy]


def settle_stopped(host: Host, domains: Sequence[Domain], present: set[str]) -> None:
    """Clear should_run for domUs that stopped without the panel (a guest poweroff, a crash).

    A domU a job is working on, or that an autostart job is about to start, is left alone: the
    listing may predate that job's work. So is one whose job ended moments ago, for the same
    reason; the next poll settles it.
    """
    since = timezone.now() - SETTLE_AFTER
    keys = [d.lock_key for d in domains if d.should_run and d.name not in present]
    if not keys:
        return
    targets = JobTarget.objects.filter(lock_key__in=keys)
    busy = set(
        targets.filter(
            Q(job__status__in=ACTIVE_JOB_STATUSES) | Q(job__finished_at__gte=since)
        ).values_list("lock_key", flat=True)
    )
    by_pk = {d.pk: d for d in domains}
    for job in _autostart_jobs(host).filter(status__in=ACTIVE_JOB_STATUSES):
        busy |= {by_pk[pk].lock_key for pk in job.params.get("domain_ids", []) if pk in by_pk}
    gone = stopped_on_their_own(domains, present, busy)
    if gone:
        # Only where should_run is still set: a job may have changed it since the rows were read.
        Domain.objects.filter(pk__in=[d.pk for d in gone], should_run=True).update(should_run=False)


def _autostart_jobs(host: Host) -> QuerySet[Job]:
    return Job.objects.holding([actions.autostart_key(host)]).filter(kind=actions.AUTOSTART)


def _autostart_pending(host: Host) -> bool:
    return _autostart_jobs(host).filter(status__in=ACTIVE_JOB_STATUSES).exists()


def on_listing_observed(
    sender: Any, host: Host, domains: list[dict[str, Any]], dom0_cpu_seconds: float | None, **_: Any
) -> None:
    """Receive `hosts.signals.listing_observed`."""
    observe_domains(host, domains, dom0_cpu_seconds=dom0_cpu_seconds)
