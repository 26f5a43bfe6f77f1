"""What volumes and ISO images take from their owners' quotas (registered with accounts).

Only what exists, or is being made by a live job, counts: a failed or cancelled create holds
nothing, and neither does a row left "creating" (or an image left "fetching") by a job that has
ended — cancelled while queued, or failed by the reaper after its worker died.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet

from accounts.quotas import sum_usage
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import JobTarget
from storage.models import IsoImage, UploadSession, Volume

#: Image states a job moves an image through (an upload still arriving has a session instead).
ISO_JOB_STATES = (
    IsoImage.State.PENDING,
    IsoImage.State.FETCHING,
    IsoImage.State.TRANSFERRING,
    IsoImage.State.VERIFYING,
)
#: Images that hold nothing: nothing of them is (or stays) on the host.
ISO_GONE_STATES = (IsoImage.State.FAILED, IsoImage.State.CANCELLED)


def live_target_ids(model: type[Model]) -> QuerySet[Any]:
    """Return the primary keys of `model` rows that a queued or running job names."""
    return JobTarget.objects.filter(
        content_type=ContentType.objects.get_for_model(model),
        job__status__in=ACTIVE_JOB_STATUSES,
        object_id__isnull=False,  # NOT IN over a NULL would match nothing
    ).values("object_id")


#: Functions from the rooms that use volumes: each returns the ids of volumes that a live job
#: on one of its objects is making (a domU's create job names the domU, not its new disk).
_MAKERS: list[Callable[[], QuerySet[Any]]] = []


def register_maker(volume_ids: Callable[[], QuerySet[Any]]) -> None:
    """Register a function returning `.values("volume_id")`-like ids of volumes being made."""
    _MAKERS.append(volume_ids)


def volumes_being_made() -> Q:
    """Return a filter for volumes a live job works on: the volume's own job, or a job on an
    object that uses it, as the rooms that use volumes report (`register_maker`)."""
    live = Q(pk__in=live_target_ids(Volume))
    for volume_ids in _MAKERS:
        live |= Q(pk__in=volume_ids())
    return live


def never_made() -> Q:
    """Return a filter for volumes still "creating" that no live job is making any more."""
    return Q(state=Volume.State.CREATING) & ~volumes_being_made()


def counted_volumes() -> QuerySet[Volume]:
    return Volume.objects.exclude(state=Volume.State.FAILED).exclude(never_made())


def counted_isos() -> QuerySet[IsoImage]:
    receiving = UploadSession.objects.filter(
        state=UploadSession.State.RECEIVING, iso_id__isnull=False
    )
    stalled = (
        Q(state__in=ISO_JOB_STATES)
        & ~Q(pk__in=live_target_ids(IsoImage))
        & ~Q(pk__in=receiving.values("iso_id"))
    )
    return IsoImage.objects.exclude(state__in=ISO_GONE_STATES).exclude(stalled)


def disk_bytes(scope: Q, exclude: Model | None) -> int:
    """Return the size of the scope's volumes that exist or are being made."""
    return sum_usage(counted_volumes(), "size_bytes", scope, exclude)


def iso_bytes(scope: Q, exclude: Model | None) -> int:
    """Return the size of the scope's ISO images that exist or are on their way."""
    return sum_usage(counted_isos(), "size_bytes", scope, exclude)
