"""Downsample and prune the sample tables so they stay bounded (beat: monitoring.tasks).

- raw rows older than ROLL_RAW_AFTER (1 h) are averaged into 5-minute rows,
- 5-minute rows older than ROLL_5M_AFTER (1 d) into hourly rows,
- raw rows are deleted after KEEP[raw] (1 d), 5-minute after 31 d, hourly after 366 d.

Each table has its own watermark: the newest coarse row. The next bucket to roll is the one
holding the oldest finer row after it, so empty stretches (a host switched off for a week) are
skipped in one query. A bucket is rolled in one transaction that first deletes any coarse rows
already at that instant, so a run that died half-way leaves one row per object and bucket. Two
runs at once would not (on PostgreSQL each transaction's delete misses the other's uncommitted
insert): a run holds a Redis lock, and one that finds it held skips (the next comes a minute
later). Work per run is bounded (MAX_BUCKETS per table and level, DELETE_BATCH rows
per delete, MAX_DELETES batches), and a row is never pruned before it has been rolled up.
Coarse rows are plain averages of the finer rows in their bucket (an hourly row averages twelve
5-minute rows); a host's `reachable` is True if it answered at least once in the bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Avg, Count, Max, Min, Q
from django.utils import timezone

from monitoring import locks
from monitoring.models import DomainSample, HostSample, PoolSample, Resolution

ROLL_RAW_AFTER = timedelta(hours=1)
ROLL_5M_AFTER = timedelta(days=1)
KEEP: dict[str, timedelta] = {
    Resolution.RAW: timedelta(days=1),
    Resolution.FIVE_MINUTES: timedelta(days=31),
    Resolution.HOUR: timedelta(days=366),
}
STEP: dict[str, timedelta] = {
    Resolution.FIVE_MINUTES: timedelta(minutes=5),
    Resolution.HOUR: timedelta(hours=1),
}
#: Buckets rolled per table and level in one run: a day of 5-minute buckets, two days of hours.
MAX_BUCKETS = 288
DELETE_BATCH = 5000
MAX_DELETES = 20
LOCK = "monitoring:retention"
#: Longer than a bounded run takes; a worker killed mid-run frees it after this.
LOCK_TIMEOUT = 600

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Table:
    model: type[models.Model]
    keys: tuple[str, ...]  # what identifies one series: a coarse row per key per bucket
    averaged: tuple[str, ...]
    integers: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # more aggregates: name -> expression


TABLES = (
    Table(
        HostSample,
        ("host_id",),
        ("memory_total_mib", "memory_free_mib", "cpu_dom0_pct", "cpu_domu_pct", "domu_count"),
        integers=("memory_total_mib", "memory_free_mib", "domu_count"),
        extra={"answered": Count("id", filter=Q(reachable=True))},
    ),
    Table(
        DomainSample,
        ("domain_id",),
        ("cpu_pct", "memory_mib", "disk_read_bps", "disk_write_bps", "net_rx_bps", "net_tx_bps"),
        integers=("memory_mib",),
        extra={"last_host": Max("host_id")},
    ),
    Table(
        PoolSample,
        ("host_id", "pool"),
        ("size_bytes", "allocated_bytes", "free_bytes"),
        integers=("size_bytes", "allocated_bytes", "free_bytes"),
    ),
)


@dataclass
class Report:
    rolled: dict[str, int] = field(default_factory=dict)  # "DomainSample 5m" -> rows written
    pruned: dict[str, int] = field(default_factory=dict)
    more: bool = False  # a limit was hit: the next run continues
    skipped: bool = False  # another run held the lock

    def __str__(self) -> str:
        if self.skipped:
            return "skipped: another upkeep run is rolling up and pruning"
        parts = [f"{k}: +{v}" for k, v in self.rolled.items() if v]
        parts += [f"{k}: -{v}" for k, v in self.pruned.items() if v]
        return ", ".join(parts) or "nothing to do"


def floor(at: datetime, step: timedelta) -> datetime:
    """The start of the bucket of `step` holding `at` (buckets are aligned to the UTC epoch)."""
    return at - ((at - _EPOCH) % step)


def run(now: datetime | None = None) -> Report:
    """Roll up then prune every table, within the per-run limits; skip if a run is going on."""
    with locks.held(LOCK, timeout=LOCK_TIMEOUT, wait=None) as taken:
        if not taken:
            return Report(skipped=True)
        return _run(now or timezone.now())


def _run(now: datetime) -> Report:
    report = Report()
    for table in TABLES:
        name = table.model.__name__
        for source, target, after in (
            (Resolution.RAW, Resolution.FIVE_MINUTES, ROLL_RAW_AFTER),
            (Resolution.FIVE_MINUTES, Resolution.HOUR, ROLL_5M_AFTER),
        ):
            written, more = roll(table, source, target, before=now - after)
            report.rolled[f"{name} {target}"] = written
            report.more |= more
        for resolution, keep in KEEP.items():
            deleted, more = prune(table, resolution, now - keep)
            report.pruned[f"{name} {resolution}"] = deleted
            report.more |= more
    return report


def _watermark(table: Table, target: str) -> datetime | None:
    """The end of the newest coarse bucket: finer rows before it are rolled already."""
    newest = (
        table.model.objects.filter(resolution=target).aggregate(newest=Max("at"))["newest"]  # type: ignore[attr-defined]
    )
    return newest + STEP[target] if newest is not None else None


def roll(table: Table, source: str, target: str, *, before: datetime) -> tuple[int, bool]:
    """Average `source` rows into `target` buckets that end before `before`.

    Returns (coarse rows written, whether MAX_BUCKETS stopped it early).
    """
    step = STEP[target]
    cutoff = floor(before, step)  # only whole buckets that are entirely old enough
    manager = table.model.objects  # type: ignore[attr-defined]
    start = _watermark(table, target)
    written = 0
    for _ in range(MAX_BUCKETS):
        pending = manager.filter(resolution=source, at__lt=cutoff)
        if start is not None:
            pending = pending.filter(at__gte=start)
        oldest = pending.aggregate(oldest=Min("at"))["oldest"]
        if oldest is None:
            return written, False
        bucket = floor(oldest, step)
        written += _roll_bucket(table, source, target, bucket, bucket + step)
        start = bucket + step
    return written, True


def _roll_bucket(table: Table, source: str, target: str, start: datetime, end: datetime) -> int:
    manager = table.model.objects  # type: ignore[attr-defined]
    aggregates: dict[str, Any] = {f: Avg(f) for f in table.averaged}
    aggregates.update(table.extra)
    groups = (
        manager.filter(resolution=source, at__gte=start, at__lt=end)
        .values(*table.keys)
        .annotate(**aggregates)
        .order_by()
    )
    rows = []
    for group in groups:
        values = {k: group[k] for k in table.keys}
        for f in table.averaged:
            value = group[f]
            values[f] = round(value) if value is not None and f in table.integers else value
        if "answered" in group:
            values["reachable"] = group["answered"] > 0
        if "last_host" in group:
            values["host_id"] = group["last_host"]
        rows.append(table.model(resolution=target, at=start, **values))
    with transaction.atomic():
        manager.filter(resolution=target, at=start).delete()
        manager.bulk_create(rows)
    return len(rows)


def prune(table: Table, resolution: str, older_than: datetime) -> tuple[int, bool]:
    """Delete `resolution` rows before `older_than`, never rows not yet rolled up."""
    manager = table.model.objects  # type: ignore[attr-defined]
    limit = older_than
    coarser: dict[str, str] = {
        Resolution.RAW: Resolution.FIVE_MINUTES,
        Resolution.FIVE_MINUTES: Resolution.HOUR,
    }
    if resolution in coarser:
        rolled_until = _watermark(table, coarser[resolution])
        if rolled_until is None:
            return 0, False
        limit = min(limit, rolled_until)
    deleted = 0
    for _ in range(MAX_DELETES):
        pks = list(
            manager.filter(resolution=resolution, at__lt=limit).values_list("pk", flat=True)[
                :DELETE_BATCH
            ]
        )
        if not pks:
            return deleted, False
        deleted += manager.filter(pk__in=pks).delete()[0]
    return deleted, True
