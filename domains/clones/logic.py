"""What depends on a template, and which of a domU's volumes are clones (read from the DB).

A clone depends on its template through ZFS: its volume's `origin` is `<template volume>@<snap>`.
The panel keeps that origin on each Volume row (set when the clone is made, read back from
`zfs get origin` after a promote), so "which domUs depend on this template" is answered by
origins, plus the domUs the panel made from it whose volumes are still being made.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from domains.clones.naming import config_disks
from domains.models import Domain, DomainTemplate
from storage.models import Volume

#: The snapshot every template volume gets (`<dataset>@template` is what clones are made from).
SNAPSHOT = "template"


def template_volumes(template: DomainTemplate) -> list[Volume]:
    """Return the template's volumes in the order of its config's disks (boot disk first)."""
    by_dataset = {v.dataset: v for v in template.volumes.all()}
    try:
        order = config_disks(template.config_text)
    except ValueError:
        order = []
    ordered = [by_dataset.pop(d) for d in order if d in by_dataset]
    return ordered + sorted(by_dataset.values(), key=lambda v: v.dataset)


def snapshot_of(template: DomainTemplate, volume: Volume) -> str:
    return f"{volume.dataset}@{template.snapshot}"


def _origin_filter(template: DomainTemplate) -> Q:
    datasets = template.volumes.values_list("dataset", flat=True)
    match = Q(pk__in=[])
    for dataset in datasets:
        match |= Q(origin__startswith=f"{dataset}@")
    return Q(host=template.host_id) & match


@dataclass(frozen=True)
class Dependents:
    """What keeps a template from being deleted: domUs and volumes cloned from it."""

    domains: list[Domain]
    volumes: list[Volume]  # clone volumes no domU of `domains` holds (a detached disk)

    def __bool__(self) -> bool:
        return bool(self.domains or self.volumes)

    def names(self) -> list[str]:
        return [d.name for d in self.domains] + [v.dataset for v in self.volumes]


def dependents(template: DomainTemplate) -> Dependents:
    """Return the domUs and volumes that still depend on the template's snapshot.

    A clone whose disks were promoted no longer depends on the template (its origin moved);
    one being made does (its volume rows carry the origin from the start).
    """
    cloned = list(Volume.objects.filter(_origin_filter(template)).order_by("dataset"))
    ids = [v.pk for v in cloned]
    domains = list(
        Domain.objects.filter(Q(volume__in=ids) | Q(extra_volumes__in=ids))
        .distinct()
        .order_by("name")
    )
    held = set(
        Domain.objects.filter(pk__in=[d.pk for d in domains]).values_list("volume", flat=True)
    )
    held |= set(
        Domain.extra_volumes.through.objects.filter(domain__in=domains).values_list(
            "volume", flat=True
        )
    )
    return Dependents(domains, [v for v in cloned if v.pk not in held])


def why_not_usable(template: DomainTemplate) -> str:
    """Return why no clone can be made from the template now ('' if one can)."""
    if template.state != DomainTemplate.State.READY:
        return f"{template.name} is {template.get_state_display().lower()}, not ready."
    moved = [v for v in template.volumes.all() if v.origin]
    if moved:
        return (
            f"Its snapshot moved to {moved[0].origin.split('@')[0]} when that clone was promoted "
            f"(zfs promote): {moved[0].dataset} is itself a clone now, and {template.name} can "
            "make no more clones. Make a new template from a stopped domU instead."
        )
    if not template.volumes.exists():
        return f"{template.name} has no volumes to clone."
    return ""


def clone_volumes(domain: Domain) -> list[Volume]:
    """Return the domU's volumes that are ZFS clones (they have an origin), boot disk first."""
    volumes = [domain.volume] if domain.volume is not None else []
    volumes += list(domain.extra_volumes.order_by("dataset"))
    return [v for v in volumes if v.origin]


def template_volume_users(volume: Volume) -> list[str]:
    """Return why a template's volume must not be destroyed (for `storage.users.register`)."""
    names = volume.templates.order_by("name").values_list("name", flat=True)
    return [f"it is a volume of the template {name}" for name in names]
