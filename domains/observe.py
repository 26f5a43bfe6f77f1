"""Reconcile domUs with what a host's `xl list` showed; notice a Dom0 reboot; queue autostart.

FreeBSD has no xendomains rc script: after a Dom0 reboot only Domain-0 comes back. Every host
refresh/poll (beat, every minute by default) calls `observe_domains` with the rows it just read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.utils import timezone

from domains import actions, records
from domains.models import Domain
from hosts.choices import ACTIVE_JOB_STATUSES, JobStatus
from hosts.models import Host, Job

#: After a failed autostart, wait this long before trying the missing domUs again (unless the
#: host reboots again), so a domU that cannot start does not queue a job every poll.
RETRY_AFTER = timedelta(minutes=10)


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
    they are what this listing is compared with.
    """
    domains = records.apply_rows(host.pk, rows)
    reason = rebooted(host.facts or {}, rows, dom0_cpu_seconds)
    present = {str(r["name"]) for r in rows}
    candidates = autostart_candidates(domains, present)
    if not candidates:
        return
    if _autostart_pending(host, recent_failure_blocks=reason is None):
        return
    why = reason or "autostart domUs that should run are missing"
    actions.queue_autostart(host, [d.pk for d in candidates], reason=why)


def _autostart_pending(host: Host, *, recent_failure_blocks: bool) -> bool:
    jobs = Job.objects.filter(kind=actions.AUTOSTART, target_key=actions.autostart_key(host))
    if jobs.filter(status__in=ACTIVE_JOB_STATUSES).exists():
        return True
    if recent_failure_blocks:
        since = timezone.now() - RETRY_AFTER
        return jobs.filter(status=JobStatus.FAILED, created_at__gte=since).exists()
    return False
