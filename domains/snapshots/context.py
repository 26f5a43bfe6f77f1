"""What the snapshot card and page show: the snapshots, the modes that apply, the schedule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from domains import actions as domain_actions
from domains import records
from domains.models import Domain, DomainSnapshot, SnapshotMode
from domains.snapshots import actions, logic
from domains.snapshots.forms import MAX_DAILY, MAX_HOURLY, MODE_HELP, modes_for
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job

#: The kinds whose running job makes the card say "busy" (and hide its buttons' effect).
SNAPSHOT_KINDS = (
    domain_actions.SNAPSHOT,
    domain_actions.SNAPSHOT_ROLLBACK,
    domain_actions.SNAPSHOT_DELETE,
    actions.SIZES,
)


@dataclass(frozen=True)
class Mode:
    value: str
    label: str
    help: str


def busy_snapshots(domain: Domain) -> set[int]:
    """Return the ids of the snapshots a queued or running job works on."""
    params = (
        Job.objects.on(domain)
        .filter(kind__in=SNAPSHOT_KINDS, status__in=ACTIVE_JOB_STATUSES)
        .values_list("params", flat=True)
    )
    return {p["snapshot_id"] for p in params if isinstance(p.get("snapshot_id"), int)}


def card_context(domain: Domain, user: Any) -> dict[str, Any]:
    """Return the card's (and the page's) context for `domain`, newest snapshot first."""
    snapshots = list(domain.snapshots.select_related("author").order_by("-created_at", "-id"))
    current = records.current_version(domain)
    ready = [s for s in snapshots if s.state == DomainSnapshot.State.READY]
    busy = busy_snapshots(domain)
    for snap in snapshots:
        # A row whose job ended without finishing it (cancelled, reaped) may still be deleted.
        snap.busy = snap.pk in busy
    return {
        "snapshots": snapshots,
        "snapshot_modes": [Mode(m, SnapshotMode(m).label, MODE_HELP[m]) for m in modes_for(domain)],
        "snapshot_default_name": logic.default_name(timezone.localtime()),
        "snapshot_volumes": actions.volumes_of(domain),
        "current_number": current.number if current else None,
        "snapshot_used": sum(s.used_bytes or 0 for s in ready),
        "snapshot_busy": bool(busy)
        or Job.objects.on(domain)
        .filter(kind__in=SNAPSHOT_KINDS, status__in=ACTIVE_JOB_STATUSES)
        .exists(),
        "max_hourly": MAX_HOURLY,
        "max_daily": MAX_DAILY,
    }
