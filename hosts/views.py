"""Host pages: list, add/edit, detail with facts and readiness, refresh, SSH key pinning."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import access
from dom0.errors import Dom0Error
from hosts import access as host_access
from hosts.choices import Transport
from hosts.connect import panel_key_path
from hosts.forms import HostForm
from hosts.jobs import REFRESH, queue_refresh
from hosts.models import Host
from hosts.sections import section_context
from jobs import access as job_access
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job


def host_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "hosts/list.html",
        {
            "hosts": host_access.hosts_for_user(request.user),
            "is_admin": access.is_admin(request.user),
        },
    )


def host_detail(request: HttpRequest, code: str) -> HttpResponse:
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
        host = form.save()
        messages.success(request, f"Host {host.name} added.")
        if host.transport == Transport.SSH:
            _fetch_key(request, host)
        return redirect(host)
    return render(request, "hosts/form.html", {"form": form, "public_key": _public_key()})


def host_edit(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code, write=True)
    old_address = (host.address, host.ssh_port)
    form = HostForm(request.POST or None, instance=host)
    if host.transport == Transport.SIM:
        form.fields["transport"].disabled = True
    if request.method == "POST" and form.is_valid():
        host = form.save()
        if (host.address, host.ssh_port) != old_address and host.transport == Transport.SSH:
            # A new address is a new machine as far as trust goes.
            Host.objects.filter(pk=host.pk).update(host_key="", host_key_fingerprint="")
            _fetch_key(request, host)
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
    _fetch_key(request, host)
    return redirect(host)


@require_POST
def host_pin_key(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code, write=True)
    expected = request.POST.get("fingerprint", "")
    if not host.pending_host_key or expected != host.pending_host_key_fingerprint:
        messages.error(request, "The key changed since it was shown; fetch it again.")
        return redirect(host)
    Host.objects.filter(pk=host.pk).update(
        host_key=host.pending_host_key,
        host_key_fingerprint=host.pending_host_key_fingerprint,
        pending_host_key="",
        pending_host_key_fingerprint="",
    )
    messages.success(request, f"Pinned host key {expected} for {host.name}.")
    return redirect(host)


@require_POST
def host_delete(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code, write=True)
    if request.POST.get("confirm") != host.name:
        messages.error(request, f"Type the host name ({host.name}) to remove it from the panel.")
        return redirect(host)
    name = host.name
    host.delete()
    messages.success(request, f"Removed {name} from the panel. Nothing on the host was changed.")
    return redirect("hosts:list")


def _fetch_key(request: HttpRequest, host: Host) -> None:
    from dom0.transport import fetch_host_key

    try:
        info = fetch_host_key(host.address, host.ssh_port, timeout=10)
    except (Dom0Error, ValueError, OverflowError) as exc:
        # ValueError, OverflowError: an address or port saved before the form checked them.
        messages.error(request, f"Could not read the SSH host key of {host.address}: {exc}")
        return
    Host.objects.filter(pk=host.pk).update(
        pending_host_key=info.openssh_line, pending_host_key_fingerprint=info.fingerprint_sha256
    )
    messages.info(
        request,
        f"{host.address} offers host key {info.fingerprint_sha256}. Compare it with "
        "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host, then confirm it.",
    )


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
