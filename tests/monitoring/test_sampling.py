"""Sampling inside the host poll: a real worker, a simulated host and its load knob."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from dom0.metrics_parsers import parse_xentop
from dom0.parsers import ZpoolRow
from dom0.sim import SimHost
from dom0.sim.load import set_load
from domains.models import Domain
from hosts.choices import HostStatus
from monitoring import sampling, series
from monitoring.models import DomainSample, HostSample, PoolSample
from tests.domains.support import poll
from tests.monitoring.support import host_with_domus

pytestmark = pytest.mark.django_db(transaction=True)


@override_settings(METRICS_SECONDS=10)
def test_a_poll_samples_the_host_its_domus_and_pools(worker, admin_user, tmp_path):
    host = host_with_domus("xen1", tmp_path, ["web1", "db1"], admin_user)
    sim = SimHost(host.sim_dir)
    set_load(sim, "web1", cpu_pct=150, net_tx_kbps=100, net_rx_kbps=300, disk_kbps=1024)
    time.sleep(1.1)
    poll(host)
    web, db = (Domain.objects.get(name=n) for n in ("web1", "db1"))
    first = DomainSample.objects.get(domain=web)
    assert first.cpu_pct == pytest.approx(150, abs=1)
    assert first.memory_mib == 1024
    assert first.net_tx_bps is None  # the first round has no previous counters
    hs = HostSample.objects.get(host=host)
    assert hs.reachable and hs.memory_total_mib == 32768 and hs.domu_count == 2
    assert hs.cpu_domu_pct == pytest.approx((150 + 4) / 8, abs=0.5)
    (pool,) = PoolSample.objects.filter(host=host)
    assert pool.pool == "zroot" and pool.size_bytes > pool.free_bytes > 0

    poll(host)  # younger than METRICS_SECONDS: skipped
    assert HostSample.objects.filter(host=host).count() == 1
    # Make the first round two minutes old (the worker may not see override_settings).
    earlier = timezone.now() - timedelta(seconds=120)
    HostSample.objects.update(at=earlier)
    DomainSample.objects.update(at=earlier)
    poll(host)
    second = DomainSample.objects.filter(domain=web).latest("at")
    elapsed = (second.at - earlier).total_seconds()
    grown = {k: second.counters[k] - first.counters[k] for k in ("tx_kib", "rx_kib", "rsect")}
    assert second.net_tx_bps == pytest.approx(grown["tx_kib"] * 1024 / elapsed, abs=0.1)
    assert second.disk_read_bps == pytest.approx(grown["rsect"] * 512 / elapsed, abs=0.1)
    assert grown["rx_kib"] > grown["tx_kib"] > 0  # 300 vs 100 KiB/s
    assert second.net_rx_bps > second.net_tx_bps > 0
    assert second.disk_read_bps > 0 and second.disk_write_bps > 0
    idle = DomainSample.objects.filter(domain=db).latest("at")
    assert idle.net_rx_bps == 0 and idle.cpu_pct == pytest.approx(4, abs=1)
    points = series.domain_series(web, "cpu_pct", "1h")
    assert len(points) == 2 and points[-1][1] == pytest.approx(150, abs=1)


def test_an_unreachable_host_gets_a_sample_saying_so(admin_user, tmp_path):
    host = host_with_domus("xen2", tmp_path, [], admin_user)
    host.status = HostStatus.UNREACHABLE
    host.save(update_fields=["status"])
    assert sampling.record_unreachable() == 1
    assert sampling.record_unreachable() == 0  # one per interval
    assert HostSample.objects.get(host=host).reachable is False


def test_a_round_of_40_domus_takes_a_constant_number_of_queries(admin_user, tmp_path):
    names = [f"vm{i:02}" for i in range(40)]
    host = host_with_domus("xen3", tmp_path, names, admin_user)
    host.facts = {"nr_cpus": 8, "total_memory_mib": 32768, "free_memory_mib": 1000}
    rows = parse_xentop(SimHost(host.sim_dir).run(["xentop", "-b", "-f", "-i", "2"]).stdout)
    pools = [ZpoolRow("zroot", 100, 40, 60, "ONLINE")]
    at = timezone.now()
    with CaptureQueriesContext(connection) as first:
        sampling.write_round(host, at, rows, pools, previous_at=None)
    with CaptureQueriesContext(connection) as second:
        sampling.write_round(host, at + timedelta(seconds=60), rows, pools, previous_at=at)
    assert DomainSample.objects.count() == 80
    # BEGIN, host row, domU ids, (previous counters), domU rows, pool rows, COMMIT: not per domU.
    assert len(first) <= 6 and len(second) <= 7, [q["sql"][:80] for q in second]
