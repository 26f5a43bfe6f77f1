"""What depends on a template, and which of a domU's volumes are clones (read from the DB).

A clone depends on its template through ZFS: its volume's `origin` is `<template volume>@<snap>`.
The panel keeps that origin on each Volume row (set when the clone is made, read back from
`zfs get origin` after a promote), so "which domUs depend on this template" is answered by
origins, plus the domUs the panel made from it whose volumes are still being made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from dom0.errors import ParseError
from domains import actions
from domains.clones.naming import config_disks
from domains.models import Domain, DomainTemplate
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job, JobTarget
from storage.models import Volume

#: The snapshot every template volume gets (`<dataset>@template` is what clones are made from).
SNAPSHOT = "template"


def template_volumes(template: DomainTemplate) -> list[Volume]:
    """Return the template's volumes in the order of its config's disks (boot disk first).

    Kept on the instance: the picker asks once per clone of a batch, and a template's volumes do
    not change while one request or job holds it.
    """
    cached: list[Volume] | None = getattr(template, "_ordered_volumes", None)
    if cached is not None:
        return list(cached)
    by_dataset = {v.dataset: v for v in template.volumes.all()}
    try:
        order = config_disks(template.config_text)
    except (ValueError, ParseError):  # unreadable: its volumes in dataset order
        order = []
    ordered = [by_dataset.pop(d) for d in order if d in by_dataset]
    ordered += sorted(by_dataset.values(), key=lambda v: v.dataset)
    template._ordered_volumes = ordered  # type: ignore[attr-defined]
    return list(ordered)


def snapshot_of(template: DomainTemplate, volume: Volume) -> str:
    return f"{volume.dataset}@{template.snapshot}"


@dataclass(frozen=True)
class Dependents:
    """What keeps a template from being deleted: domUs and volumes cloned from it."""

    domains: list[Domain]
    volumes: list[Volume]  # clone volumes no domU or template holds (a detached disk)
    templates: list[DomainTemplate] = field(default_factory=list)  # made from its clones

    def __bool__(self) -> bool:
        return bool(self.domains or self.volumes or self.templates)

    def names(self) -> list[str]:
        return (
            [d.name for d in self.domains]
            + [f"the template {t.name}" for t in self.templates]
            + [v.dataset for v in self.volumes]
        )


def dependents(template: DomainTemplate) -> Dependents:
    """Return the domUs and volumes that still depend on the template's snapshot.

    A clone whose disks were promoted no longer depends on the template (its origin moved);
    one being made does (its volume rows carry the origin from the start).
    """
    return dependents_of([template])[template.pk]


def dependents_of(templates: Sequence[DomainTemplate]) -> dict[int, Dependents]:
    """Return `dependents` of each template (by pk), in six queries however many there are."""
    found = {t.pk: Dependents([], []) for t in templates}
    datasets: dict[int, set[str]] = defaultdict(set)
    through = DomainTemplate.volumes.through.objects
    rows = through.filter(domaintemplate__in=list(found)).values_list(
        "domaintemplate_id", "volume__dataset"
    )
    for pk, dataset in rows:
        datasets[pk].add(dataset)
    if not datasets:
        return found
    # A clone's origin is "<template volume>@<any snapshot>": matched here rather than by one
    # `origin__startswith` per dataset, an OR that grows with the page (SQLite caps its depth).
    hosts = {t.host_id for t in templates}
    clones = Volume.objects.filter(host__in=hosts, origin__contains="@").order_by("dataset")
    wanted = {(t.host_id, d) for t in templates for d in datasets[t.pk]}
    cloned = [v for v in clones if (v.host_id, _dataset_of(v)) in wanted]
    ids = {v.pk for v in cloned}
    domain_holders: dict[int, set[int]] = defaultdict(set)  # volume pk -> domain pks
    domains = list(
        Domain.objects.filter(Q(volume__in=ids) | Q(extra_volumes__in=ids))
        .distinct()
        .order_by("name")
    )
    for domain in domains:
        if domain.volume_id in ids:
            domain_holders[domain.volume_id].add(domain.pk)
    extra = Domain.extra_volumes.through.objects.filter(volume__in=ids)
    for domain_pk, volume_pk in extra.values_list("domain_id", "volume_id"):
        domain_holders[volume_pk].add(domain_pk)
    template_holders: dict[int, set[int]] = defaultdict(set)  # volume pk -> template pks
    holding = list(DomainTemplate.objects.filter(volumes__in=ids).distinct().order_by("name"))
    for template_pk, volume_pk in through.filter(volume__in=ids).values_list(
        "domaintemplate_id", "volume_id"
    ):
        template_holders[volume_pk].add(template_pk)
    for t in templates:
        mine = [v for v in cloned if v.host_id == t.host_id and _dataset_of(v) in datasets[t.pk]]
        doms = {pk for v in mine for pk in domain_holders[v.pk]}
        tpls = {pk for v in mine for pk in template_holders[v.pk]} - {t.pk}
        found[t.pk] = Dependents(
            [d for d in domains if d.pk in doms],
            [v for v in mine if not domain_holders[v.pk] and not template_holders[v.pk] - {t.pk}],
            [h for h in holding if h.pk in tpls],
        )
    return found


def _dataset_of(clone: Volume) -> str:
    return clone.origin.partition("@")[0]


def why_not_usable(template: DomainTemplate) -> str:
    """Return why no clone can be made from the template now ('' if one can).

    A template volume may well have an origin of its own (a template made from a clone): that
    does not matter. What matters is whether `<volume>@<snapshot>` is still its own: a promote
    moves it to the promoted clone, and the promote job then empties `template.snapshot`.
    """
    promote = Job.objects.on(template).filter(kind=actions.PROMOTE).active().first()
    return _why_not(template, promote.pk if promote is not None else None)


def why_not_usable_of(templates: Sequence[DomainTemplate]) -> dict[int, str]:
    """Return `why_not_usable` of each template (by pk), in one query (their volumes prefetched,
    as the templates list does, else one more each)."""
    promotes: dict[int | None, int] = {}  # template pk -> its newest active promote job
    targets = (
        JobTarget.objects.filter(
            content_type=ContentType.objects.get_for_model(DomainTemplate),
            object_id__in=[t.pk for t in templates],
            job__kind=actions.PROMOTE,
            job__status__in=ACTIVE_JOB_STATUSES,
        )
        # The newest first, as `Job.objects...first()` picks it (Job's own ordering).
        .order_by("-job__created_at", "-job_id")
        .values_list("object_id", "job_id")
    )
    for template_pk, job_pk in targets:
        promotes.setdefault(template_pk, job_pk)
    return {t.pk: _why_not(t, promotes.get(t.pk)) for t in templates}


def _why_not(template: DomainTemplate, promote: int | None) -> str:
    if template.state != DomainTemplate.State.READY:
        return f"{template.name} is {template.get_state_display().lower()}, not ready."
    if not template.snapshot:
        moved = [v for v in template.volumes.all() if v.origin]
        where = moved[0].origin.split("@")[0] if moved else "a promoted clone"
        return (
            f"Its snapshot moved to {where} when that clone was promoted (zfs promote): "
            f"{template.name}'s volumes are clones of it now, and {template.name} can make no "
            "more clones. Make a new template from a stopped domU instead."
        )
    if promote is not None:
        return (
            f"A promote of one of its clones is queued or running (job #{promote}): it moves "
            f"{template.name}'s snapshot away. Wait for it to finish."
        )
    if not template.volumes.exists():
        return f"{template.name} has no volumes to clone."
    return ""


def templates_of(host_id: int, snapshot: str) -> list[DomainTemplate]:
    """Return the templates whose snapshot `snapshot` ("<volume>@<name>") is."""
    dataset, _, name = snapshot.partition("@")
    return list(
        DomainTemplate.objects.filter(host=host_id, snapshot=name, volumes__dataset=dataset)
        .exclude(snapshot="")
        .distinct()
    )


def clone_volumes(domain: Domain) -> list[Volume]:
    """Return the domU's volumes that are ZFS clones (they have an origin), boot disk first."""
    return [v for v in domain_volumes(domain) if v.origin]


def template_volume_users(volume: Volume) -> list[str]:
    """Return why a template's volume must not be destroyed (for `storage.users.register`)."""
    names = volume.templates.order_by("name").values_list("name", flat=True)
    return [f"it is a volume of the template {name}" for name in names]


def domain_volumes(domain: Domain) -> list[Volume]:
    """Return the domU's volumes, boot disk first."""
    volumes = [domain.volume] if domain.volume is not None else []
    return volumes + list(domain.extra_volumes.order_by("dataset"))


def holder(volume: Volume) -> str:
    """Return who holds a volume, for a sentence: "the template base", "web-2", or ""."""
    template = volume.templates.order_by("name").first()
    if template is not None:
        return f"the template {template.name}"
    domain = (
        Domain.objects.filter(Q(volume=volume) | Q(extra_volumes=volume)).order_by("name").first()
    )
    return domain.name if domain is not None else ""


def delete_blockers(domain: Domain) -> list[str]:
    """Return why its volumes cannot be destroyed with it ([] if they can).

    After a promote, the template's volume and the other clones hang off this domU's disks'
    snapshots, so `zfs destroy -r` of those disks fails with "dependent clones". Read from the
    Volume rows' origins (the promote job keeps them), before anything is removed.
    """
    reasons = []
    for volume in domain_volumes(domain):
        dependents = (
            Volume.objects.filter(host=domain.host_id, origin__startswith=f"{volume.dataset}@")
            .exclude(pk=volume.pk)
            .order_by("dataset")
        )
        if not dependents:
            continue
        names = []
        for dependent in dependents:
            who = holder(dependent)
            names.append(f"{dependent.dataset} ({who})" if who else dependent.dataset)
        reasons.append(
            f"{domain.name}'s disk {volume.dataset} has dependent clones: {', '.join(names)}. "
            "zfs destroys no volume whose snapshot other volumes are cloned from: delete those "
            f"first, or delete {domain.name} and keep its volumes."
        )
    return reasons
