"""Queue the scheduled snapshots that are due (beat runs this; the jobs apply retention)."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from domains import actions as domain_actions
from domains.models import Domain, DomainSnapshot, SnapshotMode
from domains.snapshots import actions, logic
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job

#: Rows that count as "the last one": made, or being made (a failed attempt is tried again).
_COUNTED = (DomainSnapshot.State.READY, DomainSnapshot.State.CREATING)


def _last(domain: Domain, schedule: str) -> datetime | None:
    found = DomainSnapshot.objects.filter(
        domain=domain, schedule=schedule, state__in=_COUNTED
    ).aggregate(last=Max("created_at"))["last"]
    return timezone.localtime(found) if found is not None else None


def _pending(domain: Domain, schedule: str) -> bool:
    """Say whether a job of this schedule is still queued or running (a host that is down)."""
    return (
        Job.objects.on(domain)
        .filter(
            kind=domain_actions.SNAPSHOT,
            status__in=ACTIVE_JOB_STATUSES,
            params__schedule=schedule,
        )
        .exists()
    )


def queue_due(now: datetime | None = None) -> list[str]:
    """Queue a running snapshot for every domU and schedule that is due; return their names."""
    moment = timezone.localtime(now or timezone.now())
    queued = []
    wanted = Domain.objects.filter(Q(snapshot_keep_hourly__gt=0) | Q(snapshot_keep_daily__gt=0))
    for domain in wanted.select_related("host", "volume"):
        schedules = logic.due(
            moment,
            keep_hourly=domain.snapshot_keep_hourly,
            keep_daily=domain.snapshot_keep_daily,
            last_hourly=_last(domain, logic.HOURLY),
            last_daily=_last(domain, logic.DAILY),
        )
        if not schedules or not actions.volumes_of(domain):
            continue
        for schedule in schedules:
            if _pending(domain, schedule):
                continue
            name = logic.auto_name(schedule, moment)
            try:
                with transaction.atomic():
                    # Only the newest failed attempt is worth showing (a host down for days).
                    domain.snapshots.filter(
                        schedule=schedule, state=DomainSnapshot.State.FAILED
                    ).delete()
                    actions.queue_snapshot(domain, name, SnapshotMode.RUNNING, schedule=schedule)
            except IntegrityError:
                continue  # that name exists: this hour's (day's) snapshot is there already
            queued.append(f"{domain.name}@{name}")
    return queued
