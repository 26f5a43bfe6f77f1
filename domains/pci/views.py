"""PCI passthrough: the host page's PCI section and its jobs; attach/detach on a stopped domU.

Attaching is a config version (`pci = [...]`), written to the host when the domU next starts:
no job, nothing changes on the host until then.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import access
from dom0.errors import ParseError
from domains import actions, cfg, records
from domains.access import get_domain_for_user
from domains.models import Domain
from domains.pci import actions as pci_actions
from domains.pci import listing, logic
from hosts import access as host_access
from hosts.models import Host


def host_pci_panel(request: HttpRequest, code: str) -> HttpResponse:
    """The host page's PCI section on its own (it polls itself while a PCI job runs)."""
    host = host_access.get_host_for_user(request.user, code)
    context = {"host": host, **listing.host_pci_context(request, host)}
    return render(request, "domains/_host_pci.html", context)


@require_POST
def pci_read(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code)
    access.require_operator(request.user)
    with transaction.atomic():
        job = pci_actions.queue_list(host, user=request.user)
    messages.info(request, f"Reading the PCI devices of {host.name} (job #{job.pk}).")
    return redirect(host)


@require_POST
def pci_assignable(request: HttpRequest, code: str) -> HttpResponse:
    """Admins: hide a device from the Dom0 for domUs (`add`), or give it back (`remove`)."""
    host = host_access.get_host_for_user(request.user, code, write=True)
    action = request.POST.get("action", "")
    if action not in ("add", "remove"):
        messages.error(request, "Choose whether to make the device assignable or give it back.")
        return redirect(host)
    try:
        bdf = logic.canonical_bdf(request.POST.get("bdf", ""))
    except logic.PciRefused as exc:
        messages.error(request, str(exc))
        return redirect(host)
    add = action == "add"
    refusal = logic.assignable_refusal(
        bdf, add=add, listing=listing.last_listing(host), holders=listing.holders(host)
    )
    if refusal:
        messages.error(request, refusal)
        return redirect(host)
    with transaction.atomic():
        job = pci_actions.queue_assignable(host, bdf, add=add, user=request.user)
    messages.info(request, f"{job.title} (job #{job.pk}).")
    return redirect(host)


@require_POST
def pci_attach(request: HttpRequest, code: str) -> HttpResponse:
    return _change(request, code, attach=True)


@require_POST
def pci_detach(request: HttpRequest, code: str) -> HttpResponse:
    return _change(request, code, attach=False)


def _change(request: HttpRequest, code: str, *, attach: bool) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    try:
        bdf = logic.canonical_bdf(request.POST.get("bdf", ""))
    except logic.PciRefused as exc:
        messages.error(request, str(exc))
        return redirect(domain)
    with transaction.atomic():
        # One PCI change per host at a time: two domUs cannot both take the same device.
        Host.objects.select_for_update().filter(pk=domain.host_id).first()
        domain = Domain.objects.select_related("host").get(pk=domain.pk)
        refusal = _refusal(domain, bdf, attach=attach)
        if refusal:
            messages.error(request, refusal)
            return redirect(domain)
        _write(request, domain, bdf, attach=attach)
    return redirect(domain)


def _refusal(domain: Domain, bdf: str, *, attach: bool) -> str:
    busy = actions.active_job(domain)
    if busy is not None:
        return f"Job #{busy.pk} ({busy.title}) is still running on {domain.name}; wait for it."
    current = listing.domain_pci(domain)
    if not attach:
        return logic.detach_refusal(
            bdf, domain_name=domain.name, running=domain.is_present, current=current
        )
    return logic.attach_refusal(
        bdf,
        domain_name=domain.name,
        running=domain.is_present,
        guest_type=domain.guest_type,
        current=current,
        listing=listing.last_listing(domain.host),
        holders=listing.holders(domain.host, exclude=domain),
    )


def _write(request: HttpRequest, domain: Domain, bdf: str, *, attach: bool) -> None:
    try:
        text = records.current_text(domain)
        config = cfg.parse(text)
    except ParseError as exc:
        messages.error(request, f"{domain.name}'s config cannot be read: {exc}")
        return
    changed = logic.with_pci(
        config, logic.spec_changed(logic.pci_specs(config), bdf, attach=attach)
    )
    verb = "Attach" if attach else "Detach"
    version = records.add_version(
        domain, cfg.render_over(text, changed), author=request.user, note=f"{verb} PCI device {bdf}"
    )
    Domain.objects.filter(pk=domain.pk).update(pci=logic.config_pci(changed))
    if attach:
        messages.success(
            request,
            f"{bdf} is in {domain.name}'s config (version {version.number}). It is passed "
            "through at the next start.",
        )
    else:
        messages.success(
            request,
            f"{bdf} is out of {domain.name}'s config (version {version.number}); the device "
            "stays assignable for another domU.",
        )
