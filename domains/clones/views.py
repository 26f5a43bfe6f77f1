"""Template pages: the list, one template, make one from a domU, new domUs from one, promote,
delete."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import access
from accounts.http import PanelRequest
from dom0.errors import ParseError
from domains import cfg
from domains.access import get_domain_for_user
from domains.clones import flows, logic, naming
from domains.clones.forms import CloneForm, template_choices
from domains.flows import Refused
from domains.models import DomainTemplate
from jobs.models import Job


def _template_for_user(request: HttpRequest, code: str, *, write: bool = False) -> DomainTemplate:
    return flows.template_for_user(request.user, code, write=write)


def templates_list(request: HttpRequest) -> HttpResponse:
    templates = list(
        template_choices(request.user).select_related("owner", "team").prefetch_related("volumes")
    )
    # Batched: a query or two per row would grow with the page (issue 16).
    why_not = logic.why_not_usable_of(templates)
    dependents = logic.dependents_of(templates)
    for t in templates:
        t.why_not = why_not[t.pk]
        t.dependents = dependents[t.pk]
    context = {"templates": templates, "can_operate": access.can_operate(request.user)}
    return render(request, "domains/templates_list.html", context)


def template_detail(request: HttpRequest, code: str) -> HttpResponse:
    template = _template_for_user(request, code)
    volumes = logic.template_volumes(template)
    context = {
        "template": template,
        "volumes": [(v, logic.snapshot_of(template, v)) for v in volumes],
        "config_text": cfg.mask_password(template.config_text),
        "dependents": logic.dependents(template),
        "why_not": logic.why_not_usable(template),
        "can_operate": access.can_operate(request.user),
        "jobs": Job.objects.on(template).select_related("requested_by")[:10],
    }
    return render(request, "domains/template_detail.html", context)


# --- make a template ---------------------------------------------------------------------------
@require_POST
def make_template(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    name = (request.POST.get("name") or domain.name).strip()
    try:
        job = flows.make_template(
            domain, name=name, confirm=request.POST.get("confirm", ""), user=request.user
        )
    except Refused as exc:
        messages.error(request, str(exc))
        return redirect(domain)
    messages.info(request, f"Making {domain.name} the template {name} (job #{job.pk}).")
    return redirect(job)


# --- new domUs from a template ----------------------------------------------------------------
def clone_new(request: PanelRequest) -> HttpResponse:
    access.require_operator(request.user)
    template = _picked(request)
    if request.method == "POST":
        form = CloneForm(request.POST, user=request.user)
        if form.is_valid():
            made = flows.create_clones(form, request.user)
            if made:
                n = len(made)
                messages.info(
                    request,
                    f"Creating {n} domU{'s' if n != 1 else ''} from {form.picked}: "
                    f"job{'s' if n != 1 else ''} #{', #'.join(str(j.pk) for _, j in made)}.",
                )
                return redirect(made[0][0] if n == 1 else "domains:list")
    else:
        form = CloneForm(user=request.user, template=template)
    context = {"form": form, "template": form.picked, "pci": _pci_of(form.picked)}
    return render(request, "domains/clone_new.html", context)


def _pci_of(template: DomainTemplate | None) -> list[str]:
    """Return the template's PCI devices (the page says clones do not get them)."""
    try:
        return naming.pci_devices(template.config_text) if template is not None else []
    except (ValueError, ParseError):
        return []


def _picked(request: HttpRequest) -> DomainTemplate | None:
    try:
        code = uuid.UUID(request.GET.get("template", ""))
    except ValueError:
        return None
    return template_choices(request.user).filter(code=code).first()


# --- promote, delete ---------------------------------------------------------------------------
@require_POST
def promote(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    try:
        done = flows.promote(domain, request.user)
    except flows.NothingToDo as exc:
        messages.info(request, str(exc))
        return redirect(domain)
    except Refused as exc:
        messages.error(request, str(exc))
        return redirect(domain)
    messages.info(
        request, f"Promoting {domain.name}'s disks (job #{done.job.pk}). {done.effects.text()}"
    )
    return redirect(domain)


@require_POST
def template_delete(request: HttpRequest, code: str) -> HttpResponse:
    template = _template_for_user(request, code, write=True)
    try:
        job = flows.delete_template(
            template, confirm=request.POST.get("confirm", ""), user=request.user
        )
    except flows.NothingToDo as exc:
        messages.info(request, str(exc))
        return redirect("domains:templates")
    except Refused as exc:
        messages.error(request, str(exc))
        return redirect(template)
    messages.info(request, f"Deleting template {template.name} (job #{job.pk}).")
    return redirect(job)
