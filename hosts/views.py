"""Host pages: list, add/edit, detail with facts and readiness, refresh, SSH key pinning."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import access
from accounts.http import PanelRequest
from accounts.listing import Listing
from hosts import access as host_access
from hosts import actions
from hosts.choices import HostStatus
from hosts.connect import panel_key_path
from hosts.forms import HostForm
from hosts.jobs import REFRESH, queue_refresh
from hosts.models import Host
from hosts.sections import section_context
from jobs import access as job_access
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job

#: The host list's sortable columns and the fields each orders by.
HOST_SORTS = {
    "name": ("name",),
    "status": ("status", "name"),
    "readiness": ("readiness_passed", "name"),
    "xen": ("xen_version", "name"),
    "memory": ("free_memory_mib", "name"),
    "cpus": ("nr_cpus", "name"),
    "domus": ("domu_count", "name"),
    "refreshed": ("refreshed_at", "name"),
}


def host_list(request: HttpRequest) -> HttpResponse:
    """Hosts, a page at a time: search by name or address, filter by status, sort by column."""
    listing = Listing(request, filters=("q", "status"), sorts=HOST_SORTS, default="name")
    # The rows show the summary columns a refresh keeps, never the facts/readiness JSON.
    hosts = host_access.hosts_for_user(request.user).defer("facts", "readiness")
    if listing.q:
        hosts = hosts.filter(Q(name__icontains=listing.q) | Q(address__icontains=listing.q))
    if listing.params["status"] in HostStatus.values:
        hosts = hosts.filter(status=listing.params["status"])
    context = {
        "page": listing.paginate(hosts),
        "listing": listing,
        "statuses": HostStatus.choices,
        "is_admin": access.is_admin(request.user),
    }
    return render(request, "hosts/list.html", context)


def host_detail(request: PanelRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code)
    context = _detail_context(request, host)
    template = "hosts/_detail_body.html" if request.htmx else "hosts/detail.html"
    return render(request, template, context)


def _detail_context(request: HttpRequest, host: Host) -> dict[str, object]:
    jobs = job_access.jobs_for_user(request.user).on(host)[:10]
    active = Job.objects.on(host).filter(kind=REFRESH, status__in=ACTIVE_JOB_STATUSES).first()
    facts = host.facts or {}
    return {
        "host": host,
        "facts": facts,
        "checklist": host.readiness or [],
        "jobs": jobs,
        "refresh_job": active,
        "is_admin": access.is_admin(request.user),
        "memory": _capacity(
            facts.get("total_memory_mib"),
            [
                ("Domain-0", facts.get("dom0_memory_mib")),
                ("DomUs", facts.get("domu_memory_mib")),
            ],
            facts.get("free_memory_mib"),
        ),
        "cpus": _capacity(
            facts.get("nr_cpus"),
            [("Domain-0", facts.get("dom0_vcpus")), ("DomUs", facts.get("domu_vcpus"))],
            None,
        ),
        "public_key": _public_key(),
        **section_context(request, host),
    }


def _capacity(
    total: int | None, parts: list[tuple[str, int | None]], free: int | None
) -> dict[str, object] | None:
    if not total:
        return None
    segments = []
    for label, value in parts:
        if value:
            segments.append({"label": label, "value": value, "pct": min(100, 100 * value / total)})
    used = sum(s["value"] for s in segments)  # type: ignore[misc]
    return {
        "total": total,
        "segments": segments,
        "used": used,
        "free": free if free is not None else max(0, total - used),
    }


def _public_key() -> str:
    path = panel_key_path().with_suffix(".pub")
    return path.read_text().strip() if path.exists() else ""


def host_create(request: HttpRequest) -> HttpResponse:
    access.require_admin(request.user)
    form = HostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        host, key = actions.save_host(form)
        messages.success(request, f"Host {host.name} added.")
        _key_message(request, key)
        return redirect(host)
    return render(request, "hosts/form.html", {"form": form, "public_key": _public_key()})


def host_edit(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code, write=True)
    form = actions.edit_form(host, request.POST or None)
    if request.method == "POST" and form.is_valid():
        host, key = actions.save_host(form)
        _key_message(request, key)
        messages.success(request, f"Host {host.name} saved.")
        return redirect(host)
    return render(request, "hosts/form.html", {"form": form, "host": host})


@require_POST
def host_refresh(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code, write=True)
    with transaction.atomic():
        job = queue_refresh(host, user=request.user)
    messages.info(request, f"Refreshing {host.name} (job #{job.pk}).")
    return redirect(host)


@require_POST
def host_fetch_key(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code, write=True)
    _key_message(request, actions.read_host_key(host))
    return redirect(host)


@require_POST
def host_pin_key(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code, write=True)
    expected = request.POST.get("fingerprint", "")
    if not actions.pin_host_key(host, expected):
        messages.error(request, "The key changed since it was shown; fetch it again.")
        return redirect(host)
    messages.success(request, f"Pinned host key {expected} for {host.name}.")
    return redirect(host)


@require_POST
def host_delete(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code, write=True)
    refusal = actions.removal_refusal(host, request.POST.get("confirm", ""))
    if refusal:
        messages.error(request, refusal)
        return redirect(host)
    messages.success(request, actions.remove_host(host))
    return redirect("hosts:list")


def _key_message(request: HttpRequest, key: actions.KeyRead | None) -> None:
    if key is not None:
        (messages.info if key.ok else messages.error)(request, key.message)


@require_POST
def host_migration_access(request: HttpRequest, code: str) -> HttpResponse:
    """Queue the migration access set-up from this host to the hosts ticked (admins only)."""
    access.require_admin(request.user)
    host = host_access.get_host_for_user(request.user, code, write=True)
    from hosts.migration_access import queue_from_post

    try:
        job = queue_from_post(host, request.POST.getlist("targets"), request.user)
    except (ValueError, DjangoValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect(host)
    messages.info(request, f"Setting up migration access from {host.name} (job #{job.pk}).")
    return redirect(host)
