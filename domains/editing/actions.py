"""Queue the edit jobs: APPLY (make new volumes, apply live changes) and VOLUME_GROW."""

from __future__ import annotations

from typing import Any

from domains import actions
from domains.models import Domain
from jobs.enqueue import Target, enqueue_on
from jobs.models import Job
from storage.models import Volume


def queue_apply(
    domain: Domain,
    *,
    user: Any,
    from_number: int,
    to_number: int,
    live: bool,
    new_volume_ids: list[int],
    clears_pending: bool,
) -> Job:
    """Queue the job that makes the edit's new volumes and, if `live`, applies it to the domU."""
    verb = "Apply the edit to" if live else "Make the new volume of"
    return enqueue_on(
        actions.APPLY,
        "domain",
        domain,
        title=f"{verb} {domain.name}",
        user=user,
        params={
            "from": from_number,
            "to": to_number,
            "live": live,
            "new_volume_ids": new_volume_ids,
            "clears_pending": clears_pending,
        },
    )


def queue_grow(domain: Domain, volume: Volume, size_bytes: int, *, user: Any) -> Job:
    title = f"Grow {volume.dataset} of {domain.name}"
    also = [Target.locking("volume", volume)]
    params = {"volume_id": volume.pk, "size_bytes": size_bytes}
    return enqueue_on(
        actions.VOLUME_GROW, "domain", domain, title=title, also=also, user=user, params=params
    )
