"""DomU pages: list, new (with live config preview), detail, actions, VNC, history, import."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import access, audit, quotas
from accounts.http import PanelRequest
from accounts.models import AuditAction
from dom0.errors import ParseError
from domains import actions, cfg, history, records
from domains import vnc as vnc_info
from domains.access import domains_for_user, get_domain_for_user, may_operate
from domains.clones import logic as clones_logic
from domains.forms import NEW, DomainForm, host_by_code, host_domain_names
from domains.host_panel import host_domains_context
from domains.models import Domain, DomainConfigVersion
from hosts import access as host_access
from hosts import vnc_exposure
from hosts.models import Host
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job, JobTarget
from storage.models import IsoImage, Volume

GIB = 2**30


# --- list, host panel ---------------------------------------------------------------------------


def domain_list(request: PanelRequest) -> HttpResponse:
    domains = list(domains_for_user(request.user).select_related("owner", "volume"))
    active = _active_keys([d.lock_key for d in domains])
    for d in domains:  # a cancelled create: offer Delete, not Start
        d.never_made = records.never_made(d) and d.lock_key not in active
    context = {
        "domains": domains,
        "watch_fast": bool(active),
        "can_operate": access.can_operate(request.user),
    }
    template = "domains/_list_table.html" if request.htmx else "domains/list.html"
    return render(request, template, context)


def host_panel(request: HttpRequest, code: str) -> HttpResponse:
    """The host page's domU section on its own (the section polls it)."""
    host = host_access.get_host_for_user(request.user, code)
    return render(
        request, "domains/_host_panel.html", {"host": host, **host_domains_context(request, host)}
    )


def _active_keys(keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(
        JobTarget.objects.filter(
            lock_key__in=keys, job__status__in=ACTIVE_JOB_STATUSES
        ).values_list("lock_key", flat=True)
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
    data = form.cleaned_data
    host: Host = data["host"]
    try:
        with transaction.atomic():
            volume = data["volume"] if data["disk"] != NEW else None
            if data["disk"] == NEW:
                volume = Volume.objects.create(
                    host=host,
                    dataset=form.dataset,
                    size_bytes=data["disk_gib"],
                    state=Volume.State.CREATING,
                    owner=request.user,
                )
            settings = form.settings
            assert settings is not None
            domain = Domain.objects.create(
                host=host,
                name=data["name"],
                owner=request.user,
                memory_mb=data["memory_mb"],
                vcpus=data["vcpus"],
                volume=volume,
                iso=data["iso"],
                bridge=data["bridge"],
                vnc_enabled=data["vnc_enabled"],
                vnc_listen=data["vnc_listen"],
                vnc_display=settings.vnc_display,
                vnc_password=data["vnc_password"],
                serial_pty=data["serial_pty"],
                tablet=data["tablet"],
                autostart=data["autostart"],
                autostart_order=data["autostart_order"],
                autostart_delay=data["autostart_delay"],
            )
            text = cfg.render(cfg.build(settings))
            records.add_version(domain, text, author=request.user, note="Created")
            actions.queue(
                domain,
                actions.CREATE,
                f"Create {domain.name} on {host.name}",
                user=request.user,
                params={"new_volume": data["disk"] == NEW},
            )
    except IntegrityError:
        # Two people took the same name or VNC display at once; the form shows it again.
        form.add_error("name", "That name (or the VNC display) was just taken; try again.")
        return None
    except quotas.QuotaExceeded as exc:
        # The form checked already; this is a second tab or a teammate using the team's share.
        form.add_error(None, str(exc))
        return None
    return domain


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
    kind, verb, params = actions.LIFECYCLE[action]
    try:
        with transaction.atomic():
            title = f"{verb} {domain.name}"
            job = actions.queue(domain, kind, title, user=request.user, params=params)
    except quotas.QuotaExceeded as exc:
        messages.error(request, f"{domain.name} was not started. {exc}")
        return redirect(domain)
    messages.info(request, f"{verb} {domain.name}: job #{job.pk}.")
    return redirect(domain)


@require_POST
def domain_finish_install(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    text = records.current_text(domain)
    if not cfg.has_cdrom(text):
        messages.info(request, f"{domain.name}'s config has no cdrom any more.")
        return redirect(domain)
    with transaction.atomic():
        records.add_version(
            domain,
            cfg.without_cdrom(text),
            author=request.user,
            note="Finish install: removed the installer cdrom",
        )
        job = actions.queue(
            domain,
            actions.FINISH_INSTALL,
            f"Finish installing {domain.name}",
            user=request.user,
        )
    messages.info(
        request, f"Removed the cdrom; re-creating {domain.name} from its disk (job #{job.pk})."
    )
    return redirect(domain)


@require_POST
def domain_cd_insert(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    iso = (
        access.owned_for_user(IsoImage.objects.filter(host=domain.host), request.user)
        .filter(code=_uuid(request.POST.get("iso", "")), state=IsoImage.State.READY)
        .first()
    )
    if iso is None:
        messages.error(request, "Choose a ready ISO image from this host's library.")
        return redirect(domain)
    with transaction.atomic():
        actions.queue(
            domain,
            actions.CD_INSERT,
            f"Insert {iso.file_name} into {domain.name}",
            user=request.user,
            params={"iso_id": iso.pk},
        )
    return redirect(domain)


@require_POST
def domain_delete(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    if request.POST.get("confirm") != domain.name:
        messages.error(request, f"Type the domU's name ({domain.name}) to delete it.")
        return redirect(domain)
    destroy_volume = bool(request.POST.get("destroy_volume")) and domain.volume is not None
    blockers = clones_logic.delete_blockers(domain) if destroy_volume else []
    if blockers:
        # zfs would refuse the destroy after the domU and its config were already gone.
        messages.error(request, f"Not deleted: {' '.join(blockers)}")
        return redirect(domain)
    with transaction.atomic():
        job = actions.queue(
            domain,
            actions.DELETE,
            f"Delete {domain.name}",
            user=request.user,
            params={"destroy_volume": destroy_volume},
        )
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
    refused = _restore_exposure_refusal(request, domain, version.text)
    if refused:
        messages.error(request, f"Version {number} was not restored: {refused}")
        return redirect(f"{domain.get_absolute_url()}history/")
    clashes = records.nic_clashes(domain, version.text)
    text = records.with_fresh_macs(version.text, clashes) if clashes else version.text
    with transaction.atomic():
        if clashes:
            new = records.add_version(
                domain,
                text,
                author=request.user,
                note=f"Restored version {version.number} with new MACs for "
                f"{', '.join(clashes)} (now held by other domUs)",
            )
            messages.warning(
                request,
                f"Version {number} had {', '.join(clashes)}, which another domU now has: "
                "those NICs got new MACs (MACs are unique across the panel).",
            )
        else:
            new = history.restore(domain, version, author=request.user)
        if domain.is_present:  # it runs with the settings it started with
            Domain.objects.filter(pk=domain.pk).update(restart_pending=True)
        audit.record(
            AuditAction.CONFIG_RESTORE,
            request=request,
            target=domain,
            details={"restored": number, "as_version": new.number, "host": domain.host.name},
        )
    messages.success(
        request,
        f"Version {number} restored as version {new.number}. It takes effect at the next start.",
    )
    return redirect(f"{domain.get_absolute_url()}history/?a={new.number - 1}&b={new.number}")


def _listen_of(text: str) -> str:
    try:
        return str(cfg.summary(cfg.parse(text)).get("vnc_listen") or "")
    except ParseError:
        return ""


def _restore_exposure_refusal(request: HttpRequest, domain: Domain, text: str) -> str:
    """Restoring an old version sets its vnclisten again: the same rule as the edit form."""
    current = _listen_of(records.current_text(domain))
    kept = vnc_exposure.kept_values(domain.host, current)
    return vnc_exposure.refusal(_listen_of(text), user=request.user, host=domain.host, kept=kept)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _uuid(value: str) -> uuid.UUID | None:
    """Return `value` as a UUID, or None (which matches no row) for anything else."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


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
