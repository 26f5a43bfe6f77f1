"""Downsampling and pruning with fixed timestamps: raw -> 5 min after an hour, 5 min -> 1 h after
a day; raw kept a day, 5-minute rows a month, hourly a year; idempotent and bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domains.models import Domain
from hosts.simhosts import create_sim_host
from monitoring import retention, series
from monitoring.models import DomainSample, HostSample, PoolSample, Resolution

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def host(tmp_path, admin_user):
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    Domain.objects.create(host=host, name="web1", owner=admin_user, memory_mb=1024)
    return host


def _raw(host, minutes: int, start: datetime) -> None:
    domain = Domain.objects.get(name="web1")
    for i in range(minutes):
        at = start + i * MINUTE
        HostSample.objects.create(
            host=host,
            at=at,
            cpu_dom0_pct=float(i % 10),
            memory_free_mib=1000 + i,
            reachable=i % 7 != 3,
        )
        DomainSample.objects.create(
            domain=domain, host=host, at=at, cpu_pct=float(i), memory_mib=512
        )
        PoolSample.objects.create(host=host, pool="zroot", at=at, size_bytes=100, allocated_bytes=i)


def test_raw_rows_older_than_an_hour_become_5_minute_averages(host):
    start = NOW - timedelta(hours=3)  # 12:00:30 - 3 h = 09:00:30
    _raw(host, 180, start)
    report = retention.run(NOW)
    fives = DomainSample.objects.filter(resolution=Resolution.FIVE_MINUTES).order_by("at")
    # Buckets 09:00 .. 10:55 are whole and end before 11:00:30 - 0:00:30 → floor = 11:00.
    assert fives.count() == 24
    first = fives.first()
    assert first.at == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert first.cpu_pct == pytest.approx(2.0)  # the minutes 09:00:30 .. 09:04:30: 0 .. 4
    assert HostSample.objects.filter(resolution=Resolution.FIVE_MINUTES).count() == 24
    assert PoolSample.objects.filter(resolution=Resolution.FIVE_MINUTES).count() == 24
    assert report.rolled["DomainSample 5m"] == 24 and not report.more
    # Nothing is pruned: raw rows are kept a day.
    assert DomainSample.objects.filter(resolution=Resolution.RAW).count() == 180
    # Idempotent: a second run adds nothing and changes nothing.
    again = retention.run(NOW)
    assert again.rolled["DomainSample 5m"] == 0
    assert DomainSample.objects.filter(resolution=Resolution.FIVE_MINUTES).count() == 24


def test_a_host_that_answered_once_in_a_bucket_counts_as_reachable(host):
    _raw(host, 10, NOW - timedelta(hours=2))
    retention.run(NOW)
    reach = list(
        HostSample.objects.filter(resolution=Resolution.FIVE_MINUTES).values_list(
            "reachable", flat=True
        )
    )
    assert reach == [True, True]


def test_a_rolled_bucket_is_rewritten_not_doubled(host):
    _raw(host, 10, NOW - timedelta(hours=2))
    retention.run(NOW)
    # A run that died after writing a bucket: the next one rewrites it, one row per series.
    HostSample.objects.filter(resolution=Resolution.FIVE_MINUTES).order_by("-at").first().delete()
    retention.run(NOW)
    assert HostSample.objects.filter(resolution=Resolution.FIVE_MINUTES).count() == 2


def test_old_rows_are_rolled_to_hours_and_pruned(host):
    _raw(host, 120, NOW - timedelta(days=2))  # two hours, two days ago
    _raw(host, 5, NOW - timedelta(days=400))  # older than a year
    retention.run(NOW)
    for model in (HostSample, DomainSample, PoolSample):
        rows = model.objects.all()
        assert not rows.filter(resolution=Resolution.RAW).exists()  # > 1 day: pruned
        assert rows.filter(resolution=Resolution.HOUR).count() == 2  # 12:00 and 13:00, 2 d ago
        assert not rows.filter(at__lt=NOW - timedelta(days=366)).exists()
    hours = DomainSample.objects.filter(resolution=Resolution.HOUR).order_by("at")
    assert [h.cpu_pct for h in hours] == pytest.approx([29.5, 89.5])  # minutes 0..59, 60..119


def test_work_per_run_is_bounded(host, monkeypatch):
    monkeypatch.setattr(retention, "MAX_BUCKETS", 3)
    _raw(host, 60, NOW - timedelta(hours=3))
    report = retention.run(NOW)
    assert report.more
    assert DomainSample.objects.filter(resolution=Resolution.FIVE_MINUTES).count() == 3
    while retention.run(NOW).more:
        pass
    assert DomainSample.objects.filter(resolution=Resolution.FIVE_MINUTES).count() == 12


def test_series_stitch_coarse_rows_and_the_newer_raw_tail(host):
    _raw(host, 180, NOW - timedelta(hours=3))
    retention.run(NOW)
    domain = Domain.objects.get(name="web1")
    day = series.domain_columns(domain, ["cpu_pct"], "1d", now=NOW)
    assert day.resolution == Resolution.FIVE_MINUTES
    # 24 five-minute rows up to 11:00, then the raw rows from 11:00 on (60 of them).
    assert len(day.times) == 24 + 60
    assert day.times == sorted(day.times)
    hour = series.domain_series(domain, "cpu_pct", "1h", now=NOW)
    assert len(hour) == 60 and all(t >= NOW - timedelta(hours=1) for t, _ in hour)
    used = series.pool_series(host, "zroot", "fill_pct", "1h", now=NOW)
    assert used[-1][1] == pytest.approx(179.0)
    with pytest.raises(ValueError):
        series.host_series(host, "nonsense", "1h")


@pytest.mark.usefixtures("_point_at_redis")
def test_a_run_while_another_holds_the_lock_does_nothing(host):
    import redis
    from django.conf import settings

    _raw(host, 180, NOW - timedelta(hours=3))
    lock = redis.Redis.from_url(settings.REDIS_URL).lock(f"xenpanel:{retention.LOCK}", timeout=60)
    assert lock.acquire(blocking=False)
    try:
        report = retention.run(NOW)
        assert report.skipped and str(report).startswith("skipped")
        assert not HostSample.objects.exclude(resolution=Resolution.RAW).exists()
        assert HostSample.objects.count() == 180
    finally:
        lock.release()
    report = retention.run(NOW)  # the lock is free again: this run rolls up
    assert not report.skipped
    assert HostSample.objects.filter(resolution=Resolution.FIVE_MINUTES).count() == 24
