"""Pages that belong to the panel as a whole."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.db.models.fields.json import KT
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from domains.access import domains_for_user
from domains.models import DomainState
from hosts import access
from hosts.access import User
from hosts.models import Host

#: How many domUs the dashboard lists (the DomUs page has them all).
DASHBOARD_DOMAINS = 30
#: The host facts the dashboard shows. Only these are read from the JSON column: the full facts
#: carry every host's `xl list`, and decoding 50 of those was most of the page's time.
FACT_KEYS = (
    "xen_version",
    "nr_cpus",
    "total_memory_mib",
    "free_memory_mib",
    "dom0_memory_mib",
    "dom0_vcpus",
    "domu_memory_mib",
    "domu_vcpus",
)
_HEAVY = ("facts", "readiness", "host_key", "pending_host_key")


def dashboard(request: HttpRequest) -> HttpResponse:
    context = dashboard_context(request.user)
    template = "_dashboard_body.html" if request.htmx else "dashboard.html"
    return render(request, template, context)


def dashboard_context(user: User) -> dict[str, Any]:
    """Return everything the dashboard shows, already read (a fixed number of queries)."""
    domains = domains_for_user(user)
    counts: dict[int, dict[str, int]] = {}
    for row in domains.order_by().values("host_id", "state").annotate(n=Count("id")):
        counts.setdefault(row["host_id"], {})[row["state"]] = row["n"]
    annotated = (
        access.hosts_for_user(user)
        .defer(*_HEAVY)
        .annotate(**{f"fact_{key}": KT(f"facts__{key}") for key in FACT_KEYS})
    )
    host_objs = list(annotated)
    by_pk = {host.pk: host for host in host_objs}
    hosts = [_host_row(host, counts.get(host.pk, {})) for host in host_objs]
    totals: dict[str, int] = {}
    for per_host in counts.values():
        for state, n in per_host.items():
            totals[state] = totals.get(state, 0) + n
    # No joins: each row's host is one of the hosts just read.
    jobs = list(access.jobs_for_user(user).select_related(None).defer("params", "result")[:10])
    # (host, name) order walks the unique index; host-name order would sort them all.
    listed = list(
        domains.select_related(None)
        .defer("vnc_password")
        .order_by("host_id", "name")[:DASHBOARD_DOMAINS]
    )
    for obj in [*jobs, *listed]:
        if obj.host_id in by_pk:
            obj.host = by_pk[obj.host_id]
    return {
        "host_rows": hosts,
        "domains": listed,
        "domain_total": sum(totals.values()),
        "state_totals": [
            {"state": s.value, "label": s.label, "n": totals[s.value]}
            for s in DomainState
            if totals.get(s.value)
        ],
        "jobs": jobs,
        "active": any(job.is_active for job in jobs),
        "can_operate": access.can_operate(user),
        "is_admin": access.is_admin(user),
    }


def _facts(host: Host) -> dict[str, Any]:
    """Return the annotated facts as numbers (KT gives them back as text)."""
    out: dict[str, Any] = {}
    for key in FACT_KEYS:
        value = getattr(host, f"fact_{key}", None)
        if value is not None and key != "xen_version":
            try:
                value = int(float(value))
            except ValueError:
                value = None
        out[key] = value
    return out


def _host_row(host: Host, counts: dict[str, int]) -> dict[str, Any]:
    f = _facts(host)
    return {
        "host": host,
        "xen_version": f.get("xen_version"),
        "memory": _bar(
            f.get("total_memory_mib"), f.get("dom0_memory_mib"), f.get("domu_memory_mib")
        ),
        "cpus": _bar(f.get("nr_cpus"), f.get("dom0_vcpus"), f.get("domu_vcpus"), overcommit=True),
        "free_memory": f.get("free_memory_mib"),
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
