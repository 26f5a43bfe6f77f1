"""What a snapshot is made of and what a schedule asks for: pure functions, no I/O.

A domU's snapshot is one `zfs snapshot ds1@name ds2@name ...` over all of its volumes (atomic:
all or none exist afterwards). Scheduled ones are named `auto-<schedule>-<time>`; retention
counts only those of its own schedule and never touches snapshots taken by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

HOURLY, DAILY = "hourly", "daily"
SCHEDULES = (HOURLY, DAILY)
#: How a scheduled snapshot's name stamps its time.
_STAMPS = {HOURLY: "%Y%m%d-%H%M", DAILY: "%Y%m%d"}


def default_name(now: datetime) -> str:
    """Return the name the form proposes for a snapshot taken by hand at `now`."""
    return now.strftime("snap-%Y%m%d-%H%M%S")


def auto_name(schedule: str, now: datetime) -> str:
    """Return a scheduled snapshot's name: `auto-hourly-20250301-1400`, `auto-daily-20250301`."""
    return f"auto-{schedule}-{now.strftime(_STAMPS[schedule])}"


def _bucket(schedule: str, moment: datetime) -> datetime:
    """Return the start of the hour (or day) `moment` falls in."""
    start = moment.replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if schedule == DAILY else start


def due(
    now: datetime,
    *,
    keep_hourly: int,
    keep_daily: int,
    last_hourly: datetime | None,
    last_daily: datetime | None,
) -> list[str]:
    """Return the schedules that want a snapshot at `now` (a subset of SCHEDULES, in order).

    A schedule is due when it keeps at least one snapshot and its last one was taken in an
    earlier hour (day) than `now`: however often beat runs, at most one per hour (day), and a
    beat that ran late catches up with one snapshot, not many. All times in one time zone.
    """
    wanted = []
    for schedule, keep, last in (
        (HOURLY, keep_hourly, last_hourly),
        (DAILY, keep_daily, last_daily),
    ):
        if keep <= 0:
            continue
        if last is None or _bucket(schedule, last) < _bucket(schedule, now):
            wanted.append(schedule)
    return wanted


@dataclass(frozen=True)
class Kept:
    """One scheduled snapshot as retention sees it."""

    name: str
    created_at: datetime


def beyond_keep(snapshots: Iterable[Kept], keep: int) -> list[str]:
    """Return the names of the oldest snapshots beyond the newest `keep` (oldest first)."""
    newest_first = sorted(snapshots, key=lambda s: (s.created_at, s.name), reverse=True)
    return [s.name for s in reversed(newest_first[max(0, keep) :])]


def snapshot_names(datasets: Sequence[str], name: str) -> list[str]:
    """Return `dataset@name` for every dataset (the arguments of one atomic `zfs snapshot`)."""
    return [f"{dataset}@{name}" for dataset in datasets]


@dataclass(frozen=True)
class Listed:
    """One `zfs list -t snapshot` row: where it is, and its space (bytes)."""

    dataset: str
    snapshot: str
    creation: int
    used: int
    referenced: int


def later_on_host(rows: Sequence[Listed], dataset: str, name: str) -> list[str]:
    """Return the snapshots of `dataset` listed after `name` (what `zfs rollback -r` destroys).

    `zfs list -t snapshot -d 1` lists a dataset's snapshots oldest first (by creation txg), so
    position, not the one-second `creation`, tells which came later.
    """
    own = [r.snapshot for r in rows if r.dataset == dataset]
    if name not in own:
        return []
    return own[own.index(name) + 1 :]


def sizes(rows: Sequence[Listed], name: str, datasets: Sequence[str]) -> tuple[int, int] | None:
    """Return (used, referenced) of `name` summed over its datasets, or None if none is listed.

    `used` is what destroying this snapshot alone would free on each volume; `referenced` is
    what the volumes held at that moment.
    """
    found = [r for r in rows if r.snapshot == name and r.dataset in datasets]
    if not found:
        return None
    return sum(r.used for r in found), sum(r.referenced for r in found)


def missing_on_host(rows: Sequence[Listed], name: str, datasets: Sequence[str]) -> list[str]:
    """Return the datasets of a snapshot whose `@name` is not in the listing."""
    present = {r.dataset for r in rows if r.snapshot == name}
    return [d for d in datasets if d not in present]


def zvol_datasets(disk_targets: Iterable[str]) -> list[str]:
    """Return the datasets of the `/dev/zvol/...` disk targets of a config, in order."""
    prefix = "/dev/zvol/"
    return [t.removeprefix(prefix) for t in disk_targets if t.startswith(prefix)]
