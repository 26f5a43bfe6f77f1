"""Queue the edit jobs: APPLY (make new volumes, apply live changes) and VOLUME_GROW."""

from __future__ import annotations

from typing import Any

from domains import actions
from domains.models import Domain
from jobs.enqueue import Target, enqueue
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
    return enqueue(
        actions.APPLY,
        title=f"{verb} {domain.name}",
        targets=[Target.locking("domain", domain), Target("host", domain.host)],
        user=user,
        params={
            "domain_id": domain.pk,
            "from": from_number,
            "to": to_number,
            "live": live,
            "new_volume_ids": new_volume_ids,
            "clears_pending": clears_pending,
        },
    )


def queue_grow(domain: Domain, volume: Volume, size_bytes: int, *, user: Any) -> Job:
    return enqueue(
        actions.VOLUME_GROW,
        title=f"Grow {volume.dataset} of {domain.name}",
        targets=[
            Target.locking("domain", domain),
            Target.locking("volume", volume),
            Target("host", domain.host),
        ],
        user=user,
        params={"domain_id": domain.pk, "volume_id": volume.pk, "size_bytes": size_bytes},
    )
