"""What volumes and ISO images take from their owners' quotas (registered with accounts)."""

from __future__ import annotations

from django.db.models import Model, Q

from accounts.quotas import sum_usage
from storage.models import IsoImage, Volume


def disk_bytes(scope: Q, exclude: Model | None) -> int:
    """Return the size of the scope's volumes (a failed create holds nothing)."""
    qs = Volume.objects.exclude(state=Volume.State.FAILED)
    return sum_usage(qs, "size_bytes", scope, exclude)


def iso_bytes(scope: Q, exclude: Model | None) -> int:
    """Return the size of the scope's ISO images (failed or cancelled ones hold nothing)."""
    qs = IsoImage.objects.exclude(state__in=(IsoImage.State.FAILED, IsoImage.State.CANCELLED))
    return sum_usage(qs, "size_bytes", scope, exclude)
