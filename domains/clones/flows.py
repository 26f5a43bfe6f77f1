"""What the template pages and the API both do once their input is valid (one code path each).

Like `domains.flows`: a page turns `Refused` into an error message (`NothingToDo` into an info
message) and goes back; the API answers 409 with the same sentence. Access (404/403) is checked
here where an action reaches objects beyond the one addressed (a promote changes the template).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from accounts import access
from domains import cfg, macs
from domains.access import get_domain_for_user
from domains.clones import actions, logic, promotion
from domains.clones.forms import CloneForm
from domains.flows import Refused
from domains.models import Domain, DomainNic, DomainTemplate
from jobs.models import Job
from storage.models import Volume


class NothingToDo(Refused):
    """Nothing was queued because nothing needs doing (a page says so as information)."""


def template_for_user(user: Any, code: Any, *, write: bool = False) -> DomainTemplate:
    """The template with this code if the user may see it (404), 403 if write is refused."""
    return access.get_owned_for_user(
        DomainTemplate.objects.select_related("host", "owner", "team"), user, code, write=write
    )


# --- make a template ---------------------------------------------------------------------------
def template_refusal(domain: Domain, name: str) -> str:
    """Why `domain` cannot become the template `name` now ('' if it can)."""
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


def make_template(domain: Domain, *, name: str, confirm: str, user: Any) -> Job:
    """Queue making the stopped `domain` the template `name` once its name is typed."""
    if confirm != domain.name:
        raise Refused(f"Type the domU's name ({domain.name}) to make it a template.")
    problem = template_refusal(domain, name)
    if problem:
        raise Refused(problem)
    with transaction.atomic():
        return actions.queue_make_template(domain, name, user=user)


# --- new domUs from a template ----------------------------------------------------------------
class _Lost(Exception):
    """The form got an error inside the transaction: roll back what was made."""


def create_clones(form: CloneForm, user: Any) -> list[tuple[Domain, Job]]:
    """One transaction: N domUs, their clone volumes (origin set) and NICs, N CLONE jobs.

    [] when a race lost after validation (a quota used meanwhile, a name taken): the form then
    carries the error.
    """
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
                raise _Lost
            all_macs = macs.allocate_for_panel(len(bridges) * len(form.planned))
            for i, plan in enumerate(form.planned):
                domain = _clone_rows(user, template, volumes, plan, data)
                mine = all_macs[i * len(bridges) : (i + 1) * len(bridges)]
                DomainNic.objects.bulk_create(
                    DomainNic(domain=domain, position=p, mac=mac, bridge=bridge)
                    for p, (mac, bridge) in enumerate(zip(mine, bridges, strict=True))
                )
                if bridges:
                    Domain.objects.filter(pk=domain.pk).update(bridge=bridges[0])
                job = actions.queue_clone(domain, template, user=user, batch=batch)
                made.append((domain, job))
    except IntegrityError:
        form.add_error("name", "A name (or a VNC display) was just taken; try again.")
        return []
    except _Lost:
        return []
    return made


def _clone_rows(
    user: Any, template: DomainTemplate, volumes: list[Volume], plan: Any, data: Any
) -> Domain:
    made = [
        Volume.objects.create(
            host=template.host,
            dataset=dataset,
            size_bytes=source.size_bytes,
            sparse=True,  # a clone has no reservation: it shares the template's blocks
            state=Volume.State.CREATING,
            origin=logic.snapshot_of(template, source),
            owner=user,
        )
        for source, dataset in zip(volumes, plan.datasets, strict=True)
    ]
    domain = Domain.objects.create(
        host=template.host,
        name=plan.name,
        owner=user,
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
@dataclass(frozen=True)
class Promoted:
    job: Job
    effects: promotion.Effects


def promote(domain: Domain, user: Any) -> Promoted:
    """Queue promoting a clone's disks. It changes the template (or domU) they were cloned from,
    so the user must be allowed to change that too (404 if they cannot see it, 403 if
    read-only)."""
    volumes = logic.clone_volumes(domain)
    if not volumes:
        raise NothingToDo(f"{domain.name}'s disks are not clones: nothing to promote.")
    effects = promotion.effects(domain)
    for template in effects.templates:
        template_for_user(user, template.code, write=True)
    for owner in effects.owners:
        get_domain_for_user(user, str(owner.code), write=True)
    if any(v.state != Volume.State.READY for v in volumes):
        raise Refused(f"{domain.name}'s disks are still being made.")
    busy = promotion.busy_clones(effects.templates)
    if busy:
        raise Refused(
            f"{', '.join(t.name for t in effects.templates)} is making clones right now (job "
            f"#{', #'.join(str(j.pk) for j in busy)}): promote once they have finished, or the "
            "snapshot they are cloned from would move under them."
        )
    with transaction.atomic():
        job = actions.queue_promote(domain, effects.templates, user=user)
    return Promoted(job, effects)


def delete_template(template: DomainTemplate, *, confirm: str, user: Any) -> Job:
    """Queue deleting a template without clones once its name is typed as `confirm`."""
    if confirm != template.name:
        raise Refused(f"Type the template's name ({template.name}) to delete it.")
    with transaction.atomic():
        locked = DomainTemplate.objects.select_for_update().filter(pk=template.pk).first()
        dependents = logic.dependents(template) if locked else None
        if dependents:
            raise Refused(
                f"{template.name} has clones: {', '.join(dependents.names())}. Their disks are "
                "ZFS clones of its snapshot: delete them (with their volumes) or promote them "
                "first."
            )
        if locked is None or locked.state == DomainTemplate.State.DELETING:
            raise NothingToDo(f"{template.name} is already being deleted.")
        DomainTemplate.objects.filter(pk=template.pk).update(state=DomainTemplate.State.DELETING)
        return actions.queue_template_delete(template, user=user)
