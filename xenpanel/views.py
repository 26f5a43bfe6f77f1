"""Pages that belong to the panel as a whole."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render

from accounts import access
from accounts.access import User
from accounts.http import PanelRequest
from domains.access import domains_for_user
from domains.models import Domain, DomainState
from hosts import access as host_access
from hosts.choices import Transport
from hosts.models import Host
from jobs import access as job_access
from jobs.choices import ACTIVE_JOB_STATUSES, JobStatus
from jobs.models import Job
from jobs.registry import quiet_kinds

#: How many domUs the dashboard lists (the DomUs page has them all).
DASHBOARD_DOMAINS = 30


# The dashboard reads hosts, domUs and jobs as plain rows, not model instances. It shows 50
# hosts, 30 domUs and 10 jobs from a few columns each, and building (partly deferred) model
# instances for them cost more than the queries did. The cards offer what the templates use,
# borrowing the models' own methods where there are some.
@dataclass(slots=True)
class HostCard:
    """A host as the dashboard shows it: name, status and capacity columns (never `facts`)."""

    pk: int
    code: uuid.UUID
    name: str
    transport: str
    status: str
    status_reason: str
    xen_version: str
    nr_cpus: int | None
    total_memory_mib: int | None
    free_memory_mib: int | None
    dom0_memory_mib: int | None
    dom0_vcpus: int | None
    domu_memory_mib: int | None
    domu_vcpus: int | None
    domu_count: int | None
    readiness_passed: int | None
    readiness_total: int | None

    get_absolute_url = Host.get_absolute_url

    def get_transport_display(self) -> str:
        return str(dict(Transport.choices).get(self.transport, self.transport))


@dataclass(slots=True)
class DomainCard:
    """A listed domU: what its dashboard row shows."""

    code: uuid.UUID
    host_id: int
    name: str
    state: str
    state_letters: str
    memory_mb: int
    vcpus: int
    vnc_enabled: bool
    vnc_display: int | None
    host: HostCard | None = None

    get_absolute_url = Domain.get_absolute_url
    vnc_port = Domain.vnc_port


@dataclass(slots=True)
class JobCard:
    """A recent job: what the compact job table shows."""

    pk: int
    code: uuid.UUID
    title: str
    status: str
    progress: int
    message: str
    error: str
    created_at: datetime

    get_absolute_url = Job.get_absolute_url

    @property
    def is_active(self) -> bool:  # as Job.is_active (a property cannot be borrowed like a method)
        return self.status in ACTIVE_JOB_STATUSES

    def get_status_display(self) -> str:
        return str(dict(JobStatus.choices).get(self.status, self.status))


HOST_FIELDS = tuple(f.name for f in fields(HostCard))
JOB_FIELDS = tuple(f.name for f in fields(JobCard))
DOMAIN_FIELDS = tuple(f.name for f in fields(DomainCard) if f.name != "host")


def dashboard(request: PanelRequest) -> HttpResponse:
    context = dashboard_context(request.user)
    template = "_dashboard_body.html" if request.htmx else "dashboard.html"
    return render(request, template, context)


def dashboard_context(user: User) -> dict[str, Any]:
    """Return everything the dashboard shows, already read (a fixed number of queries)."""
    domains = domains_for_user(user)
    counts: dict[int, dict[str, int]] = {}
    # (state, host) order lets SQLite scan the table once instead of walking the host index.
    for state, host_id, n in (
        domains.order_by().values_list("state", "host_id").annotate(n=Count("*"))
    ):
        counts.setdefault(host_id, {})[state] = n
    cards = [HostCard(*row) for row in host_access.hosts_for_user(user).values_list(*HOST_FIELDS)]
    by_pk = {card.pk: card for card in cards}
    totals: dict[str, int] = {}
    for per_host in counts.values():
        for state, n in per_host.items():
            totals[state] = totals.get(state, 0) + n
    jobs = [
        JobCard(*row)
        for row in job_access.jobs_for_user(user)
        .exclude(kind__in=quiet_kinds())  # scheduled polls would push what people did off the list
        .select_related(None)
        .values_list(*JOB_FIELDS)[:10]
    ]
    # (host, name) order walks the unique index; host-name order would sort them all.
    listed = [
        DomainCard(*row)
        for row in domains.select_related(None)
        .order_by("host_id", "name")
        .values_list(*DOMAIN_FIELDS)[:DASHBOARD_DOMAINS]
    ]
    for card in listed:
        card.host = by_pk.get(card.host_id)
    return {
        "host_rows": [_host_row(card, counts.get(card.pk, {})) for card in cards],
        "domains": listed,
        "domain_total": sum(totals.values()),
        # xl's "blocked" is a running domU waiting for work: counted, and shown, as running.
        "state_totals": [
            {"state": s.value, "label": s.label, "n": n}
            for s in DomainState
            if s != DomainState.BLOCKED
            and (
                n := totals.get(s.value, 0)
                + (totals.get(DomainState.BLOCKED, 0) if s == DomainState.RUNNING else 0)
            )
        ],
        "jobs": jobs,
        "active": any(job.is_active for job in jobs),
        "can_operate": access.can_operate(user),
        "is_admin": access.is_admin(user),
    }


def _host_row(host: HostCard, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "host": host,
        "xen_version": host.xen_version,
        "memory": _bar(host.total_memory_mib, host.dom0_memory_mib, host.domu_memory_mib),
        "cpus": _bar(host.nr_cpus, host.dom0_vcpus, host.domu_vcpus, overcommit=True),
        "free_memory": host.free_memory_mib,
        "running": sum(counts.get(s, 0) for s in ("running", "blocked", "paused")),
        "stopped": sum(n for s, n in counts.items() if s not in ("running", "blocked", "paused")),
        "problems": counts.get("crashed", 0),
    }


def _bar(
    total: int | None, dom0: int | None, domus: int | None, *, overcommit: bool = False
) -> dict[str, Any] | None:
    """Return widths for a capacity bar: Domain-0, domUs, and what is left."""
    if not total:
        return None
    dom0, domus = dom0 or 0, domus or 0
    # vCPUs may be overcommitted; scale the bar so it still fits.
    scale = max(total, dom0 + domus) if overcommit else total
    return {
        "total": total,
        "dom0": dom0,
        "domus": domus,
        "free": max(0, total - dom0 - domus),
        "dom0_pct": round(100 * dom0 / scale, 1),
        "domus_pct": round(100 * domus / scale, 1),
    }
