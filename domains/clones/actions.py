"""Queue the template and clone jobs (called from views inside `transaction.atomic()`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domains import actions
from domains.models import Domain, DomainTemplate
from jobs.enqueue import Target, enqueue, enqueue_on
from jobs.models import Job


def queue_make_template(domain: Domain, name: str, *, user: Any) -> Job:
    """One job holding the domU and its host: nothing else changes either while it snapshots."""
    return enqueue(
        actions.MAKE_TEMPLATE,
        title=f"Make {domain.name} a template",
        targets=[
            Target.locking("domain", domain, label=domain.name),
            Target.locking("host", domain.host),
        ],
        user=user,
        params={"domain_id": domain.pk, "template_name": name},
    )


def queue_clone(domain: Domain, template: DomainTemplate, *, user: Any, batch: str) -> Job:
    """One job per clone, holding only its domU: a batch of clones runs side by side."""
    title = f"Create {domain.name} from template {template.name}"
    also = [Target("template", template, label=template.name)]
    params = {"template_id": template.pk, "batch": batch}
    return enqueue_on(
        actions.CLONE,
        "domain",
        domain,
        title=title,
        label=domain.name,
        also=also,
        user=user,
        params=params,
    )


def queue_promote(domain: Domain, templates: Sequence[DomainTemplate], *, user: Any) -> Job:
    targets = [Target.locking("domain", domain, label=domain.name), Target("host", domain.host)]
    for template in templates:
        # The template's snapshot moves to this domU: no other promote or delete at once.
        targets.append(Target.locking("template", template, label=template.name))
    return enqueue(
        actions.PROMOTE,
        title=f"Promote the disks of {domain.name} (zfs promote)",
        targets=targets,
        user=user,
        params={"domain_id": domain.pk},
    )


def queue_template_delete(template: DomainTemplate, *, user: Any) -> Job:
    title = f"Delete template {template.name}"
    return enqueue_on(
        actions.TEMPLATE_DELETE, "template", template, title=title, label=template.name, user=user
    )
