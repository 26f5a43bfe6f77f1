"""Snapshot logic with no I/O: names, when a schedule is due, retention, rollback's later ones."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domains.snapshots import logic
from domains.snapshots.logic import DAILY, HOURLY, Kept, Listed

NOW = datetime(2025, 3, 1, 14, 7, 30)


def test_it_names_snapshots_by_their_time():
    assert logic.default_name(NOW) == "snap-20250301-140730"
    assert logic.auto_name(HOURLY, NOW) == "auto-hourly-20250301-1407"
    assert logic.auto_name(DAILY, NOW) == "auto-daily-20250301"


def _due(now, *, hourly=0, daily=0, last_hourly=None, last_daily=None):
    return logic.due(
        now,
        keep_hourly=hourly,
        keep_daily=daily,
        last_hourly=last_hourly,
        last_daily=last_daily,
    )


def test_it_wants_nothing_when_nothing_is_kept():
    assert _due(NOW) == []
    assert _due(NOW, last_hourly=NOW - timedelta(days=3)) == []


def test_it_wants_the_first_snapshot_at_once():
    assert _due(NOW, hourly=24) == [HOURLY]
    assert _due(NOW, daily=7) == [DAILY]
    assert _due(NOW, hourly=24, daily=7) == [HOURLY, DAILY]


@pytest.mark.parametrize(
    ("last", "wanted"),
    [
        (datetime(2025, 3, 1, 14, 0, 0), False),  # this hour's is there
        (datetime(2025, 3, 1, 13, 59, 59), True),  # a second before the hour: last hour's
        (datetime(2025, 3, 1, 13, 10, 0), True),  # under an hour ago, but an earlier hour
        (datetime(2025, 2, 20, 9, 0, 0), True),  # beat was off for days: one, not many
    ],
)
def test_it_takes_at_most_one_hourly_snapshot_per_hour(last, wanted):
    assert (_due(NOW, hourly=5, last_hourly=last) == [HOURLY]) is wanted


def test_it_takes_at_most_one_daily_snapshot_per_day():
    assert _due(NOW, daily=7, last_daily=datetime(2025, 3, 1, 0, 0, 1)) == []
    assert _due(NOW, daily=7, last_daily=datetime(2025, 2, 28, 23, 59)) == [DAILY]


def test_a_beat_every_minute_still_takes_one_per_hour():
    taken = []
    last = None
    moment = datetime(2025, 3, 1, 10, 0, 30)
    for _ in range(3 * 60):  # three hours of a beat every minute
        if _due(moment, hourly=3, last_hourly=last):
            taken.append(moment)
            last = moment
        moment += timedelta(minutes=1)
    assert [t.hour for t in taken] == [10, 11, 12]


def test_it_keeps_the_newest_and_destroys_the_oldest_first():
    base = datetime(2025, 3, 1)
    kept = [Kept(f"auto-hourly-{h:02d}", base + timedelta(hours=h)) for h in (3, 1, 4, 2, 5)]
    assert logic.beyond_keep(kept, 3) == ["auto-hourly-01", "auto-hourly-02"]
    assert logic.beyond_keep(kept, 5) == []
    assert logic.beyond_keep(kept, 9) == []
    assert logic.beyond_keep(kept, 0) == [k.name for k in sorted(kept, key=lambda k: k.created_at)]


def _rows() -> list[Listed]:
    # As `zfs list -t snapshot -d 1` prints them: each dataset's oldest first.
    return [
        Listed("zroot/xen/web1-disk0", "a", 100, 10, 1000),
        Listed("zroot/xen/web1-disk0", "b", 100, 20, 1100),
        Listed("zroot/xen/web1-disk0", "c", 200, 0, 1200),
        Listed("zroot/xen/web1-data", "a", 100, 5, 500),
        Listed("zroot/xen/web1-data", "c", 200, 7, 600),
    ]


def test_it_finds_what_a_rollback_destroys_by_position_not_by_the_second():
    rows = _rows()
    assert logic.later_on_host(rows, "zroot/xen/web1-disk0", "a") == ["b", "c"]
    assert logic.later_on_host(rows, "zroot/xen/web1-data", "a") == ["c"]
    assert logic.later_on_host(rows, "zroot/xen/web1-disk0", "c") == []
    assert logic.later_on_host(rows, "zroot/xen/web1-data", "b") == []


def test_it_sums_a_snapshots_space_over_its_volumes():
    rows = _rows()
    datasets = ["zroot/xen/web1-disk0", "zroot/xen/web1-data"]
    assert logic.sizes(rows, "a", datasets) == (15, 1500)
    assert logic.sizes(rows, "b", datasets) == (20, 1100)
    assert logic.sizes(rows, "zz", datasets) is None
    assert logic.missing_on_host(rows, "b", datasets) == ["zroot/xen/web1-data"]
    assert logic.missing_on_host(rows, "a", datasets) == []


def test_it_takes_every_volume_in_one_argument_list():
    assert logic.snapshot_names(["p/a", "p/b"], "s1") == ["p/a@s1", "p/b@s1"]
    targets = ["/dev/zvol/zroot/xen/a", "/var/lib/xenpanel/iso/x.iso", "/dev/zvol/zroot/xen/b"]
    assert logic.zvol_datasets(targets) == ["zroot/xen/a", "zroot/xen/b"]
