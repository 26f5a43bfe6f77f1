"""DomU pages: list, new (with live config preview), detail, actions, VNC, history, import."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import access
from accounts.http import PanelRequest
from dom0.errors import ParseError
from domains import actions, cfg, flows, history, records
from domains import vnc as vnc_info
from domains.access import get_domain_for_user, may_operate
from domains.forms import DomainForm, host_by_code, host_domain_names
from domains.host_panel import host_domains_context
from domains.models import Domain, DomainConfigVersion
from hosts import access as host_access
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job
from storage.models import IsoImage

GIB = 2**30


# --- host panel (the list: listing_views.py) ------------------------------------------------


def host_panel(request: HttpRequest, code: str) -> HttpResponse:
    """The host page's domU section on its own (the section polls it)."""
    host = host_access.get_host_for_user(request.user, code)
    return render(
        request, "domains/_host_panel.html", {"host": host, **host_domains_context(request, host)}
    )


# --- new ----------------------------------------------------------------------------------------


def domain_new(request: PanelRequest) -> HttpResponse:
    access.require_operator(request.user)
    # ?host=<code> preselects a host; anything else is ignored (the form picks the first one).
    host = host_by_code(request.GET.get("host", ""))
    if request.method == "POST":
        form = DomainForm(request.POST, user=request.user)
        if form.is_valid():
            domain = _create(request, form)
            if domain is not None:
                return redirect(domain)
    else:
        form = DomainForm(user=request.user, host=host)
    context = {"form": form, "host": form.target_host, "preview": form.preview()}
    return render(request, "domains/new.html", context)


@require_POST
def domain_preview(request: HttpRequest) -> HttpResponse:
    """The live preview: the exact config the form would write, and what is wrong so far."""
    access.require_operator(request.user)
    form = DomainForm(request.POST, user=request.user)
    form.is_valid()
    return render(request, "domains/_preview.html", {"form": form, "preview": form.preview()})


def _create(request: PanelRequest, form: DomainForm) -> Domain | None:
    return flows.create_domain(form, request.user)


# --- detail, live part --------------------------------------------------------------------------


def domain_detail(request: PanelRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code)
    template = "domains/_body.html" if request.htmx else "domains/detail.html"
    return render(request, template, _detail_context(request, domain))


def _detail_context(request: HttpRequest, domain: Domain) -> dict[str, Any]:
    versions = list(domain.versions.select_related("author").order_by("-number"))
    text = versions[0].text if versions else ""
    return {
        **_live_context(request, domain),
        "versions": versions,
        "config_text": cfg.mask_password(text),
        "config_path": cfg.config_path(domain.host.config_dir, domain.name),
        "vnc": vnc_info.details_for(domain),
        "isos": access.owned_for_user(
            IsoImage.objects.filter(host=domain.host, state=IsoImage.State.READY), request.user
        ),
        "jobs": Job.objects.on(domain).select_related("requested_by")[:10],
        **_nic_context(domain, text),
    }


def _nic_context(domain: Domain, text: str) -> dict[str, Any]:
    """The NIC card: each vif of the current config, its MAC (or none fixed) and bridge."""
    try:
        nics = cfg.summary(cfg.parse(text))["nics"] if text else []
    except ParseError:
        nics = []
    mine = set(domain.nics.values_list("mac", flat=True))
    rows = [
        {"position": pos, "mac": mac, "bridge": bridge, "clash": bool(mac) and mac not in mine}
        for pos, mac, bridge in nics  # type: ignore[attr-defined]
    ]
    return {"nic_rows": rows, "nic_random": any(not r["mac"] for r in rows)}


def domain_live(request: HttpRequest, code: str) -> HttpResponse:
    """The polled live part; when the job it watched has ended, the rest of the page reloads."""
    domain = get_domain_for_user(request.user, code)
    context = _live_context(request, domain)
    response = render(request, "domains/_live.html", context)
    if request.GET.get("was_active") and context["job"] is None:
        response["HX-Trigger"] = "domain-updated"
    return response


def _live_context(request: HttpRequest, domain: Domain) -> dict[str, Any]:
    jobs = Job.objects.on(domain).order_by("-created_at", "-id")
    job = jobs.filter(status__in=ACTIVE_JOB_STATUSES).order_by("created_at").first()
    last = job or jobs.first()
    text = records.current_version(domain)
    return {
        "domain": domain,
        "job": job,
        "last_job": last,
        "can_operate": may_operate(request.user, domain),
        "has_cdrom": cfg.has_cdrom(text.text) if text else False,
        "never_made": job is None and records.never_made(domain),
        "offer_force": bool(
            last and not job and last.kind == actions.SHUTDOWN and last.status == "failed"
        ),
    }


@require_POST
def vnc_password(request: HttpRequest, code: str) -> HttpResponse:
    """Reveal the VNC password to someone who may operate this domU (403 for viewers)."""
    domain = get_domain_for_user(request.user, code)
    if not may_operate(request.user, domain):
        raise PermissionDenied("Only people who may operate this domU can read its password.")
    return render(request, "domains/_vnc_password.html", {"domain": domain})


# --- actions ------------------------------------------------------------------------------------


@require_POST
def domain_action(request: HttpRequest, code: str, action: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    if action not in actions.LIFECYCLE:
        raise Http404("No such action")
    try:
        job = flows.queue_lifecycle(domain, action, request.user)
    except flows.Refused as exc:
        messages.error(request, str(exc))
        return redirect(domain)
    messages.info(request, f"{actions.LIFECYCLE[action][1]} {domain.name}: job #{job.pk}.")
    return redirect(domain)


@require_POST
def domain_finish_install(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    try:
        job = flows.finish_install(domain, request.user)
    except flows.Refused as exc:
        messages.info(request, str(exc))
        return redirect(domain)
    messages.info(
        request, f"Removed the cdrom; re-creating {domain.name} from its disk (job #{job.pk})."
    )
    return redirect(domain)


@require_POST
def domain_cd_insert(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    try:
        flows.insert_cd(domain, request.POST.get("iso", ""), request.user)
    except flows.Refused as exc:
        messages.error(request, str(exc))
    return redirect(domain)


@require_POST
def domain_delete(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    try:
        job = flows.delete_domain(
            domain,
            confirm=request.POST.get("confirm", ""),
            destroy_volume=bool(request.POST.get("destroy_volume")),
            user=request.user,
        )
    except flows.Refused as exc:
        messages.error(request, str(exc))
        return redirect(domain)
    messages.info(request, f"Deleting {domain.name} (job #{job.pk}).")
    return redirect(job)


# --- history ------------------------------------------------------------------------------------


def domain_history(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code)
    versions = list(domain.versions.select_related("author").order_by("-number"))
    if not versions:
        raise Http404("No versions")
    numbers = [v.number for v in versions]
    b = _int(request.GET.get("b"), numbers[0])
    a = _int(request.GET.get("a"), b - 1 if b - 1 in numbers else b)
    by_number = {v.number: v for v in versions}
    old, new = by_number.get(a), by_number.get(b)
    if old is None or new is None:
        raise Http404("No such version")
    lines = history.diff(old.text, new.text, old_label=f"version {a}", new_label=f"version {b}")
    context = {
        "domain": domain,
        "versions": versions,
        "a": old,
        "b": new,
        "lines": lines,
        "text": cfg.mask_password(new.text),
        "can_operate": may_operate(request.user, domain),
        "current": versions[0].number,
    }
    return render(request, "domains/history.html", context)


@require_POST
def domain_restore(request: HttpRequest, code: str, number: int) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    version = DomainConfigVersion.objects.filter(domain=domain, number=number).first()
    if version is None:
        raise Http404("No such version")
    try:
        restored = flows.restore_version(domain, version, user=request.user, request=request)
    except flows.Refused as exc:
        messages.error(request, str(exc))
        return redirect(f"{domain.get_absolute_url()}history/")
    new, clashes = restored.version, restored.clashes
    if clashes:
        messages.warning(
            request,
            f"Version {number} had {', '.join(clashes)}, which another domU now has: "
            "those NICs got new MACs (MACs are unique across the panel).",
        )
    messages.success(
        request,
        f"Version {number} restored as version {new.number}. It takes effect at the next start.",
    )
    return redirect(f"{domain.get_absolute_url()}history/?a={new.number - 1}&b={new.number}")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


# --- import -------------------------------------------------------------------------------------


@require_POST
def domain_import(request: HttpRequest, code: str) -> HttpResponse:
    """Adopt a domU the host runs but the panel does not know (admins only)."""
    host = host_access.get_host_for_user(request.user, code, write=True)
    name = request.POST.get("name", "")
    known = set(Domain.objects.filter(host=host).values_list("name", flat=True))
    if name not in host_domain_names(host) or name in known or name == "Domain-0":
        messages.error(request, f"{name} is not an unmanaged domU on {host.name}.")
        return redirect(host)
    with transaction.atomic():
        job = actions.queue_import(host, name, user=request.user)
    messages.info(request, f"Importing {name} (job #{job.pk}).")
    return redirect(host)
