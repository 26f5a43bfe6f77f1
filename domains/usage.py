"""Which domUs use a volume or an ISO image (storage asks before it destroys or deletes one)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from domains.models import Domain
from storage.models import IsoImage, Volume
from storage.usage import live_target_ids


def volume_users(volume: Volume) -> list[str]:
    """Return why `volume` is in use: the domUs whose config has it as a disk."""
    users = Domain.objects.filter(Q(volume=volume) | Q(extra_volumes=volume)).distinct()
    names = users.order_by("name").values_list("name", flat=True)
    return [f"the domU {name} uses it as a disk" for name in names]


def iso_users(iso: IsoImage) -> list[str]:
    """Return why `iso` is in use: the domUs that have it in their CD-ROM drive."""
    names = Domain.objects.filter(iso=iso).order_by("name").values_list("name", flat=True)
    return [f"the domU {name} has it attached as a CD-ROM" for name in names]


def volumes_being_made() -> QuerySet[Any]:
    """Return the ids of volumes that a live job on their domU is making (its create job)."""
    domains = Domain.objects.filter(pk__in=live_target_ids(Domain), volume__isnull=False)
    return domains.values("volume_id")
