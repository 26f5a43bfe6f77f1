"""What a promote of a clone does to others, said before it runs (read from the DB).

`zfs promote <clone>` moves the snapshot the clone was made from (`<origin>@<snap>`, with any
older snapshots of the origin) to the clone. The origin (a template's volume, or the disk of a
domU promoted earlier) becomes a clone of the promoted disk, and every other clone of that
snapshot then depends on the promoted disk. Nothing is copied; no data changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from accounts import access
from domains import actions
from domains.clones import logic
from domains.models import Domain, DomainTemplate
from jobs.models import Job
from storage.models import Volume


@dataclass(frozen=True)
class Effects:
    """Who a promote of `domain`'s disks changes."""

    domain: Domain
    snapshots: list[str]  # the snapshots that move to the domain's disks
    templates: list[DomainTemplate]  # whose snapshot moves: they make no more clones
    owners: list[Domain]  # other domUs whose disk's snapshot moves (promoted earlier)
    siblings: list[str]  # the other domUs (or loose volumes) cloned from those snapshots

    def text(self) -> str:
        """Say exactly what changes for the template, its other clones and this domU."""
        name = self.domain.name
        parts = [f"zfs promote moves {', '.join(self.snapshots)} to {name}'s disks."]
        for template in self.templates:
            parts.append(
                f"The template {template.name}'s volumes become clones of {name}'s disks: "
                f"{template.name} can make no more clones (it can still be deleted)."
            )
        for owner in self.owners:
            parts.append(f"{owner.name}'s disks become clones of {name}'s disks.")
        if self.siblings:
            parts.append(
                f"{', '.join(self.siblings)} then depend on {name}'s disks instead (they keep "
                "running, unchanged)."
            )
        if self.templates or self.owners or self.siblings:
            parts.append(
                f"{name} can then not be deleted with its volumes while any of those exist."
            )
        parts.append("Nothing is copied and no data changes.")
        return " ".join(parts)


def effects(domain: Domain) -> Effects:
    volumes = logic.clone_volumes(domain)
    snapshots = sorted({v.origin for v in volumes})
    heads = {s.split("@")[0] for s in snapshots}
    templates = list(
        DomainTemplate.objects.filter(host=domain.host_id, volumes__dataset__in=heads)
        .distinct()
        .order_by("name")
    )
    owners = list(
        Domain.objects.filter(host=domain.host_id)
        .filter(Q(volume__dataset__in=heads) | Q(extra_volumes__dataset__in=heads))
        .exclude(pk=domain.pk)
        .distinct()
        .order_by("name")
    )
    others = Volume.objects.filter(host=domain.host_id, origin__in=snapshots).exclude(
        pk__in=[v.pk for v in volumes]
    )
    siblings = sorted({logic.holder(v) or v.dataset for v in others} - {domain.name})
    return Effects(domain, snapshots, templates, owners, siblings)


def busy_clones(templates: list[DomainTemplate]) -> list[Job]:
    """Return the CLONE jobs of these templates still queued or running."""
    ids = [t.pk for t in templates]
    if not ids:
        return []
    return list(
        Job.objects.filter(kind=actions.CLONE, params__template_id__in=ids).active().order_by("pk")
    )


def refusal(user: Any, found: Effects) -> str:
    """Return why `user` may not promote (for the domU page; '' if they may).

    A promote changes the template (or domU) the disks were cloned from, so it needs the right
    to change that too; the promote view enforces the same with 404/403.
    """
    if not access.can_operate(user):
        return "Your role is read-only."
    templates = access.owned_for_user(DomainTemplate.objects.all(), user)
    for template in found.templates:
        if not templates.filter(pk=template.pk).exists():
            return (
                f"Promoting changes the template {template.name}, which you may not change: "
                "ask its owner or an administrator."
            )
    domains = access.owned_for_user(Domain.objects.all(), user)
    for owner in found.owners:
        if not domains.filter(pk=owner.pk).exists():
            return f"Promoting changes {owner.name}'s disks, which you may not change."
    busy = busy_clones(found.templates)
    if busy:
        return f"Clone jobs of its template are running (#{', #'.join(str(j.pk) for j in busy)})."
    return ""
