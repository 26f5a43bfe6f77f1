"""Issue 16 item 6 in a real browser: uPlot draws the host's and the domU's load from simulated
samples, the range buttons switch what is drawn, the dashboard has a sparkline per host and the
busiest domUs, and the Storage page projects when a pool fills. At 1440 and 390 px.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from domains.models import Domain
from monitoring.models import DomainSample, HostSample, PoolSample, Resolution
from storage.models import Pool
from tests.e2e.conftest import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

GIB = 2**30
WIDTHS = (1440, 390)
#: How many pixels of a canvas are (nearly) the primary colour: the series' line, not the axes.
PRIMARY_PIXELS = """(sel) => {
  const canvas = document.querySelector(sel);
  if (!canvas) return -1;
  const rgb = getComputedStyle(document.documentElement).getPropertyValue("--bs-primary-rgb")
    .split(",").map((v) => parseInt(v, 10));
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 150 && Math.abs(data[i] - rgb[0]) < 40 && Math.abs(data[i + 1] - rgb[1]) < 40
        && Math.abs(data[i + 2] - rgb[2]) < 40) n += 1;
  }
  return n;
}"""


def seed(host, domain, now) -> None:  # type: ignore[no-untyped-def]
    """An hour of raw samples, a week of 5-minute ones and a month of hourly ones: a daily wave."""
    hosts, domains, pools = [], [], []
    spans = [
        (Resolution.RAW, timedelta(minutes=1), 60),
        (Resolution.FIVE_MINUTES, timedelta(minutes=5), 7 * 288),
        (Resolution.HOUR, timedelta(hours=1), 31 * 24),
    ]
    for resolution, step, count in spans:
        for i in range(count):
            at = now - step * (count - i)
            wave = 0.5 + 0.5 * math.sin(at.timestamp() / 86400 * 2 * math.pi)
            hosts.append(
                HostSample(
                    host=host, resolution=resolution, at=at, memory_total_mib=65536,
                    memory_free_mib=int(30000 - 8000 * wave), cpu_dom0_pct=3 + 2 * wave,
                    cpu_domu_pct=15 + 40 * wave, domu_count=1,
                )
            )  # fmt: skip
            domains.append(
                DomainSample(
                    domain=domain, host=host, resolution=resolution, at=at, cpu_pct=20 + 70 * wave,
                    memory_mib=2048, disk_read_bps=4e6 * wave, disk_write_bps=1e6 + 2e6 * wave,
                    net_rx_bps=2e5 * wave, net_tx_bps=8e5 * wave,
                )
            )  # fmt: skip
            pools.append(
                PoolSample(
                    host=host, pool="zroot", resolution=resolution, at=at, size_bytes=500 * GIB,
                    allocated_bytes=int((400 - (now - at).total_seconds() / 86400 * 4) * GIB),
                    free_bytes=0,
                )
            )  # fmt: skip
    HostSample.objects.bulk_create(hosts)
    DomainSample.objects.bulk_create(domains)
    PoolSample.objects.bulk_create(pools)


def _at_widths(page, shot, name: str) -> None:  # type: ignore[no-untyped-def]
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(400)  # the charts redraw to the new width
        shot(f"charts-{name}-{width}")
        if width == 390:
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, f"{name} is {wide} px wide at 390 px"
    page.set_viewport_size({"width": 1440, "height": 900})
    page.wait_for_timeout(300)


def _drawn(page, chart: str) -> int:  # type: ignore[no-untyped-def]
    return page.evaluate(PRIMARY_PIXELS, f"{chart} canvas")


def test_charts_draw_from_simulated_samples(page, shot, django_user_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hosts.simhosts import create_sim_host

    django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    host = create_sim_host("xen-charts", state_dir=tmp_path / "sim")
    domain = Domain.objects.create(
        host=host, name="busy1", memory_mb=2048, vcpus=2, state="running"
    )
    now = timezone.now()
    Pool.objects.create(
        host=host, name="zroot", size_bytes=500 * GIB, allocated_bytes=400 * GIB,
        free_bytes=100 * GIB, health="ONLINE", seen_at=now,
    )  # fmt: skip
    seed(host, domain, now)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "admin", "pw-admin-123")

    # Host page: four charts, the CPU line drawn; 1 d asks for the day and redraws.
    page.goto(host.get_absolute_url())
    cpu = "#host-charts [data-chart=cpu]"
    page.wait_for_selector(f"{cpu} canvas")
    assert [c for c in page.locator("#host-charts [data-chart]").evaluate_all(
        "els => els.map((e) => e.dataset.chart)")] == ["cpu", "memory", "disk", "net"]  # fmt: skip
    assert _drawn(page, cpu) > 50
    assert page.locator("#host-charts [data-range='1h']").get_attribute("aria-pressed") == "true"
    with page.expect_response(lambda r: "charts.json?window=1d" in r.url) as day:
        page.click("#host-charts [data-range='1d']")
    assert day.value.json()["resolution"] == "5m"
    page.wait_for_selector("#host-charts [data-chart-src][data-drawn='1d'] [data-chart=cpu] canvas")
    assert page.locator("#host-charts [data-range='1d']").get_attribute("aria-pressed") == "true"
    assert page.locator("#host-charts [data-range='1h']").get_attribute("aria-pressed") == "false"
    assert _drawn(page, cpu) > 50
    page.locator("#host-charts").scroll_into_view_if_needed()
    _at_widths(page, shot, "host")

    # DomU page: its own load; a month asks for hourly rows.
    page.goto(domain.get_absolute_url())
    page.wait_for_selector("#domain-charts [data-chart=net] canvas")
    assert _drawn(page, "#domain-charts [data-chart=cpu]") > 50
    with page.expect_response(lambda r: "charts.json?window=1m" in r.url) as month:
        page.click("#domain-charts [data-range='1m']")
    assert month.value.json()["resolution"] == "1h"
    assert len(month.value.json()["charts"][0]["data"][0]) > 700
    page.wait_for_selector(
        "#domain-charts [data-chart-src][data-drawn='1m'] [data-chart=cpu] canvas"
    )
    assert _drawn(page, "#domain-charts [data-chart=cpu]") > 50
    _at_widths(page, shot, "domu")

    # Dashboard: a sparkline per host, busy1 the busiest domU.
    page.goto("/")
    spark = "#dashboard-load tr[data-host='xen-charts'] [data-testid=host-sparkline]"
    page.wait_for_selector(f"{spark} canvas")
    assert _drawn(page, spark) > 10
    assert page.locator("#dashboard-load tr[data-domain='busy1']").count() == 1
    _at_widths(page, shot, "dashboard")

    # Storage: the pool's fill over a week and when it fills (4 GiB a day, 100 GiB left).
    page.goto("/storage/")
    projection = page.locator("#pool-charts [data-pool='zroot'] [data-testid=pool-projection]")
    page.wait_for_selector("#pool-charts [data-pool='zroot'] canvas")
    assert projection.inner_text() == "fills in ~25 days"
    assert _drawn(page, "#pool-charts [data-pool='zroot']") > 50
    _at_widths(page, shot, "storage")

    # Dark mode: the charts redraw in the dark theme's colours.
    page.evaluate("document.documentElement.setAttribute('data-bs-theme', 'dark')")
    page.wait_for_timeout(300)
    assert _drawn(page, "#pool-charts [data-pool='zroot']") > 50
    shot("charts-storage-dark-1440")
    assert not errors, errors  # no failed request, no script error
