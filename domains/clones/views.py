"""Template pages: the list, one template, make one from a domU, new domUs from one, promote,
delete."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import access
from domains import cfg, macs
from domains.access import get_domain_for_user
from domains.clones import actions, logic, naming, promotion
from domains.clones.forms import CloneForm, template_choices
from domains.models import Domain, DomainNic, DomainTemplate
from jobs.models import Job
from storage.models import Volume


def _template_for_user(request: HttpRequest, code: str, *, write: bool = False) -> DomainTemplate:
    return access.get_owned_for_user(
        DomainTemplate.objects.select_related("host", "owner", "team"),
        request.user,
        code,
        write=write,
    )


def templates_list(request: HttpRequest) -> HttpResponse:
    templates = list(
        template_choices(request.user).select_related("owner").prefetch_related("volumes")
    )
    for t in templates:
        t.why_not = logic.why_not_usable(t)
        t.dependents = logic.dependents(t)
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
    if request.POST.get("confirm") != domain.name:
        messages.error(request, f"Type the domU's name ({domain.name}) to make it a template.")
        return redirect(domain)
    problem = _template_refusal(domain, name)
    if problem:
        messages.error(request, problem)
        return redirect(domain)
    with transaction.atomic():
        job = actions.queue_make_template(domain, name, user=request.user)
    messages.info(request, f"Making {domain.name} the template {name} (job #{job.pk}).")
    return redirect(job)


def _template_refusal(domain: Domain, name: str) -> str:
    from dom0 import validate
    from dom0.errors import ValidationError

    try:
        validate.domain_name(name, "name")
    except ValidationError as exc:
        return f"Template name {name!r}: {exc.rule}."
    if domain.is_present or domain.should_run:
        return (
            f"{domain.name} is {domain.get_state_display()}: shut it down first. A template is "
            "made of a stopped domU (its disks must not change while they are snapshotted)."
        )
    if domain.volume is None:
        return f"{domain.name} has no volume to make a template of."
    if DomainTemplate.objects.filter(host=domain.host, name=name).exists():
        return f"{domain.host.name} already has a template named {name}: choose another name."
    return ""


# --- new domUs from a template ----------------------------------------------------------------
def clone_new(request: HttpRequest) -> HttpResponse:
    access.require_operator(request.user)
    template = _picked(request)
    if request.method == "POST":
        form = CloneForm(request.POST, user=request.user)
        if form.is_valid():
            made = _create_clones(request, form)
            if made:
                n = len(made)
                messages.info(
                    request,
                    f"Creating {n} domU{'s' if n != 1 else ''} from {form.template}: "
                    f"job{'s' if n != 1 else ''} #{', #'.join(str(j.pk) for _, j in made)}.",
                )
                return redirect(made[0][0] if n == 1 else "domains:list")
    else:
        form = CloneForm(user=request.user, template=template)
    context = {"form": form, "template": form.template, "pci": _pci_of(form.template)}
    return render(request, "domains/clone_new.html", context)


def _pci_of(template: DomainTemplate | None) -> list[str]:
    """Return the template's PCI devices (the page says clones do not get them)."""
    try:
        return naming.pci_devices(template.config_text) if template is not None else []
    except ValueError:
        return []


def _picked(request: HttpRequest) -> DomainTemplate | None:
    try:
        code = uuid.UUID(request.GET.get("template", ""))
    except ValueError:
        return None
    return template_choices(request.user).filter(code=code).first()


class _Refused(Exception):
    """The form got an error inside the transaction: roll back what was made."""


def _create_clones(request: HttpRequest, form: CloneForm) -> list[tuple[Domain, Job]]:
    """One transaction: N domUs, their clone volumes (origin set) and NICs, N CLONE jobs."""
    template: DomainTemplate = form.cleaned_data["template"]
    data = form.cleaned_data
    volumes = logic.template_volumes(template)
    bridges = [data[key] for key in form.nic_names]
    batch = uuid.uuid4().hex[:12]
    made = []
    try:
        with transaction.atomic():
            # Checked again with the quota rows locked: a second tab may have used the quota.
            form.check_capacity(template, data)
            if form.errors:
                raise _Refused
            all_macs = macs.allocate_for_panel(len(bridges) * len(form.planned))
            for i, plan in enumerate(form.planned):
                domain = _clone_rows(request, template, volumes, plan, data)
                mine = all_macs[i * len(bridges) : (i + 1) * len(bridges)]
                DomainNic.objects.bulk_create(
                    DomainNic(domain=domain, position=p, mac=mac, bridge=bridge)
                    for p, (mac, bridge) in enumerate(zip(mine, bridges, strict=True))
                )
                if bridges:
                    Domain.objects.filter(pk=domain.pk).update(bridge=bridges[0])
                job = actions.queue_clone(domain, template, user=request.user, batch=batch)
                made.append((domain, job))
    except IntegrityError:
        form.add_error("name", "A name (or a VNC display) was just taken; try again.")
        return []
    except _Refused:
        return []
    return made


def _clone_rows(
    request: HttpRequest, template: DomainTemplate, volumes: list[Volume], plan: Any, data: Any
) -> Domain:
    made = [
        Volume.objects.create(
            host=template.host,
            dataset=dataset,
            size_bytes=source.size_bytes,
            sparse=True,  # a clone has no reservation: it shares the template's blocks
            state=Volume.State.CREATING,
            origin=logic.snapshot_of(template, source),
            owner=request.user,
        )
        for source, dataset in zip(volumes, plan.datasets, strict=True)
    ]
    domain = Domain.objects.create(
        host=template.host,
        name=plan.name,
        owner=request.user,
        memory_mb=data["memory_mb"],
        vcpus=data["vcpus"],
        volume=made[0] if made else None,
        guest_type=template.guest_type,
        vnc_enabled=plan.vnc_display is not None,
        vnc_display=plan.vnc_display,
        vnc_password=cfg.generate_password(),
        template=template,
        description=template.description,
    )
    domain.extra_volumes.set(made[1:])
    return domain


# --- promote, delete ---------------------------------------------------------------------------
@require_POST
def promote(request: HttpRequest, code: str) -> HttpResponse:
    """Promote a clone's disks: it changes the template (or domU) it was cloned from, so the
    user must be allowed to change that too (404 if they cannot see it, 403 if read-only)."""
    domain = get_domain_for_user(request.user, code, write=True)
    volumes = logic.clone_volumes(domain)
    if not volumes:
        messages.info(request, f"{domain.name}'s disks are not clones: nothing to promote.")
        return redirect(domain)
    effects = promotion.effects(domain)
    for template in effects.templates:
        _template_for_user(request, str(template.code), write=True)
    for owner in effects.owners:
        get_domain_for_user(request.user, str(owner.code), write=True)
    if any(v.state != Volume.State.READY for v in volumes):
        messages.error(request, f"{domain.name}'s disks are still being made.")
        return redirect(domain)
    busy = promotion.busy_clones(effects.templates)
    if busy:
        messages.error(
            request,
            f"{', '.join(t.name for t in effects.templates)} is making clones right now (job "
            f"#{', #'.join(str(j.pk) for j in busy)}): promote once they have finished, or the "
            "snapshot they are cloned from would move under them.",
        )
        return redirect(domain)
    with transaction.atomic():
        job = actions.queue_promote(domain, effects.templates, user=request.user)
    messages.info(request, f"Promoting {domain.name}'s disks (job #{job.pk}). {effects.text()}")
    return redirect(domain)


@require_POST
def template_delete(request: HttpRequest, code: str) -> HttpResponse:
    template = _template_for_user(request, code, write=True)
    if request.POST.get("confirm") != template.name:
        messages.error(request, f"Type the template's name ({template.name}) to delete it.")
        return redirect(template)
    with transaction.atomic():
        locked = DomainTemplate.objects.select_for_update().filter(pk=template.pk).first()
        dependents = logic.dependents(template) if locked else None
        if dependents:
            messages.error(
                request,
                f"{template.name} has clones: {', '.join(dependents.names())}. Their disks are "
                "ZFS clones of its snapshot: delete them (with their volumes) or promote them "
                "first.",
            )
            return redirect(template)
        if locked is None or locked.state == DomainTemplate.State.DELETING:
            messages.info(request, f"{template.name} is already being deleted.")
            return redirect("domains:templates")
        DomainTemplate.objects.filter(pk=template.pk).update(state=DomainTemplate.State.DELETING)
        job = actions.queue_template_delete(template, user=request.user)
    messages.info(request, f"Deleting template {template.name} (job #{job.pk}).")
    return redirect(job)
