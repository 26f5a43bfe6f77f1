"""What of a snapshot's moment another domU (or a template) of the panel has now.

A domU's volumes, MACs and PCI devices can move to another domU after a snapshot: a volume
detached in the edit page and attached elsewhere, a MAC handed out again, a device given to
another guest. Rolling back must not take them back: `zfs rollback` would overwrite the other
domU's disk (zfs allows it under an open zvol), and the config of that moment would make two
domUs claim one disk, MAC or device.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from dom0.errors import ParseError
from domains import cfg, records
from domains.access import domains_for_user
from domains.models import Domain, DomainSnapshot, DomainTemplate
from domains.pci import listing as pci_listing
from domains.pci import logic as pci_logic
from domains.snapshots import logic
from storage.models import Volume

#: How a domU the user may not see is named.
HIDDEN = "another domU"


def config_datasets(text: str) -> list[str]:
    """Return the zvol datasets a config text's disks name (cdroms aside); [] if it does not
    parse."""
    try:
        targets = [d.target for d in cfg.parse(text).disks if not d.cdrom and d.target]
    except ParseError:
        return []
    return logic.zvol_datasets(targets)


def volume_holders(
    domain: Domain, datasets: Iterable[str], user: Any = None
) -> dict[str, list[str]]:
    """Return dataset -> the other domUs of the host that have it as a disk now (names; those
    `user` may not see are HIDDEN)."""
    wanted = list(dict.fromkeys(datasets))
    visible = _visible(user)
    out: dict[str, list[str]] = {}
    for volume in Volume.objects.filter(host=domain.host_id, dataset__in=wanted):
        others = (
            Domain.objects.filter(Q(volume=volume) | Q(extra_volumes=volume))
            .exclude(pk=domain.pk)
            .distinct()
            .order_by("name")
        )
        names = [d.name if visible is None or d.pk in visible else HIDDEN for d in others]
        if names:
            out[volume.dataset] = list(dict.fromkeys(names))
    return out


def _visible(user: Any) -> set[int] | None:
    """The pks of the domUs `user` may see; None: no user (the panel itself), all of them."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return set(domains_for_user(user).values_list("pk", flat=True))


def refusal(domain: Domain, snap: DomainSnapshot, user: Any = None) -> str:
    """Why rolling `domain` back to `snap` would take a disk another domU has ('' if none)."""
    disks = volume_holders(domain, snap.datasets, user)
    if disks:
        said = "; ".join(f"{d} is now a disk of {', '.join(n)}" for d, n in disks.items())
        return (
            f"{said}. Rolling it back to @{snap.name} would overwrite that domU's data, and the "
            f"config of that moment would give the disk back to {domain.name}. Detach it from "
            "the other domU first (or delete this snapshot); nothing was rolled back."
        )
    named = [d for d in config_datasets(snap.config_text) if d not in snap.datasets]
    disks = volume_holders(domain, named, user)
    if disks:
        said = "; ".join(f"{d}, now a disk of {', '.join(n)}" for d, n in disks.items())
        return (
            f"The config of @{snap.name} names {said}: restoring it would give two domUs the same "
            "disk. Detach it from the other domU first (or delete this snapshot); nothing was "
            "rolled back."
        )
    return ""


def template_refusal(snap: DomainSnapshot, later: Mapping[str, Sequence[str]]) -> str:
    """Why `zfs rollback -r` would destroy the snapshot a template is made from ('' if not)."""
    lost = []
    for template in DomainTemplate.objects.filter(volumes__dataset__in=list(later)).distinct():
        for volume in template.volumes.filter(dataset__in=list(later)):
            if template.snapshot in later[volume.dataset]:
                lost.append(f"{volume.dataset}@{template.snapshot} (template {template.name})")
    if not lost:
        return ""
    return (
        f"Rolling back to @{snap.name} would destroy {', '.join(lost)} (-r destroys the later "
        "snapshots), and the template is cloned from it. Delete the template first; nothing "
        "was rolled back."
    )


@dataclass
class Restored:
    """The config a rollback restores, minus what another domU has now."""

    text: str
    #: MACs another domU holds now; those NICs got new ones.
    macs: list[str] = field(default_factory=list)
    #: PCI devices another domU's config names now (BDF -> its names); dropped from the config.
    pci: dict[str, list[str]] = field(default_factory=dict)


def restorable(domain: Domain, text: str, user: Any = None) -> Restored:
    """Return `text` with fresh MACs for NICs whose MAC another domU holds, and without the PCI
    devices another domU of the host has (as restoring an old version does for MACs)."""
    macs = records.nic_clashes(domain, text)
    if macs:
        text = records.with_fresh_macs(text, macs)
    try:
        config = cfg.parse(text)
    except ParseError:
        return Restored(text, macs)
    held = pci_listing.holders(domain.host, exclude=domain)
    dropped = {b: held[b] for b in pci_logic.config_pci(config) if b in held}
    if dropped:
        specs = pci_logic.pci_specs(config)
        for bdf in dropped:
            specs = pci_logic.spec_changed(specs, bdf, attach=False)
        text = cfg.render_over(text, pci_logic.with_pci(config, specs))
    visible = _visible(user)
    if visible is not None and dropped:
        mine = Domain.objects.filter(pk__in=visible, host=domain.host_id)
        names = set(mine.values_list("name", flat=True))
        dropped = {b: [n if n in names else HIDDEN for n in ns] for b, ns in dropped.items()}
    return Restored(text, macs, dropped)
