"""What the charts draw: host, domU and pool series and the dashboard summary, as compact JSON.

Each chart is `{"id", "title", "unit", "series": [labels], "data": [[unix s...], [values...]...]}`
(uPlot's column layout; `unit` is "pct", "bytes" or "bps" so the page formats one way). Series
come from `monitoring.series` (resolution by window); a host's disk and network are the sums of
its domUs' rates, since xentop gives I/O per domU only. Values are rounded (whole numbers from
1000 up, else two decimals): a chart needs no 17 digits, and the JSON shrinks by half.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone

from domains.models import Domain
from hosts.models import Host
from monitoring.models import DomainSample, HostSample, Resolution
from monitoring.projection import project_fill
from monitoring.series import (
    Columns,
    _stitch,
    domain_columns,
    host_columns,
    pool_columns,
    resolution_for,
    window_span,
)

MIB = 1024 * 1024
#: The dashboard's sparklines: the last hour of raw samples.
SPARK_WINDOW = timedelta(hours=1)
#: "Top domUs by CPU": the average over this much of the recent past.
TOP_WINDOW = timedelta(minutes=15)
TOP_COUNT = 5
#: The pool projection always fits the last week, whatever range the chart shows.
PROJECTION_WINDOW = "1w"
_FINEST_FIRST: list[str] = [Resolution.RAW, Resolution.FIVE_MINUTES, Resolution.HOUR]


def _num(value: float | None, scale: float = 1.0) -> float | None:
    if value is None:
        return None
    value *= scale
    return round(value, 2) if abs(value) < 1000 else float(round(value))


def _times(times: list[datetime]) -> list[int]:
    return [int(t.timestamp()) for t in times]


def _chart(
    chart_id: str, title: str, unit: str, columns: Columns, series: list[tuple[str, str, float]]
) -> dict[str, Any]:
    """One chart from `columns`: `series` is (label, metric, scale) per line."""
    return {
        "id": chart_id,
        "title": title,
        "unit": unit,
        "series": [label for label, _, _ in series],
        "data": [
            _times(columns.times),
            *[[_num(v, scale) for v in columns.values[metric]] for _, metric, scale in series],
        ],
    }


def _envelope(window: str, now: datetime, charts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "window": window,
        "resolution": resolution_for(window),
        "from": int((now - window_span(window)).timestamp()),
        "to": int(now.timestamp()),
        "charts": charts,
    }


def host_io_columns(host: Host, window: str, *, now: datetime | None = None) -> Columns:
    """The host's disk and network rates: its domUs' rates summed per sample instant.

    A sampling round stamps every domU of a host with the same instant (and a rolled-up bucket
    has one start), so grouping by (resolution, at) in the database sums one round per row.
    """
    resolution = resolution_for(window)
    wanted = _FINEST_FIRST[: _FINEST_FIRST.index(resolution) + 1]
    end = now or timezone.now()
    fields = ("disk_read_bps", "disk_write_bps", "net_rx_bps", "net_tx_bps")
    rows = (
        DomainSample.objects.filter(
            host_id=host.pk,
            resolution__in=wanted,
            at__gte=end - window_span(window),
            at__lte=end,
        )
        .values("resolution", "at")
        .annotate(**{name: Sum(name) for name in fields})
        .order_by("at")
    )
    kept = _stitch([(r["resolution"], r["at"], *(r[f] for f in fields)) for r in rows], wanted)
    out = Columns(times=[r[1] for r in kept], resolution=resolution)
    for i, name in enumerate(fields):
        out.values[name] = [r[2 + i] for r in kept]
    return out


def host_charts(host: Host, window: str, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    main = host_columns(
        host,
        ["cpu_dom0_pct", "cpu_domu_pct", "memory_used_mib", "memory_total_mib"],
        window,
        now=now,
    )
    io = host_io_columns(host, window, now=now)
    charts = [
        _chart(
            "cpu",
            "CPU (% of the host)",
            "pct",
            main,
            # domUs first: the first series takes the primary colour, as on the dashboard.
            [("domUs", "cpu_domu_pct", 1), ("Domain-0", "cpu_dom0_pct", 1)],
        ),
        _chart(
            "memory",
            "Memory",
            "bytes",
            main,
            [("used", "memory_used_mib", MIB), ("total", "memory_total_mib", MIB)],
        ),
        _chart(
            "disk",
            "Disk I/O (all domUs)",
            "bps",
            io,
            [("read", "disk_read_bps", 1), ("write", "disk_write_bps", 1)],
        ),
        _chart(
            "net",
            "Network (all domUs)",
            "bps",
            io,
            [("received", "net_rx_bps", 1), ("sent", "net_tx_bps", 1)],
        ),
    ]
    return _envelope(window, now, charts)


def domain_charts(domain: Domain, window: str, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    cols = domain_columns(
        domain,
        [
            "cpu_pct",
            "memory_mib",
            "disk_read_bps",
            "disk_write_bps",
            "net_rx_bps",
            "net_tx_bps",
        ],
        window,
        now=now,
    )
    charts = [
        _chart("cpu", "CPU (% of one CPU)", "pct", cols, [("CPU", "cpu_pct", 1)]),
        _chart("memory", "Memory", "bytes", cols, [("memory", "memory_mib", MIB)]),
        _chart(
            "disk",
            "Disk I/O",
            "bps",
            cols,
            [("read", "disk_read_bps", 1), ("write", "disk_write_bps", 1)],
        ),
        _chart(
            "net",
            "Network",
            "bps",
            cols,
            [("received", "net_rx_bps", 1), ("sent", "net_tx_bps", 1)],
        ),
    ]
    return _envelope(window, now, charts)


def pool_chart(
    host: Host, pool: str, window: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """Pool fill (%) over `window`, and when it fills on the last week's trend."""
    now = now or timezone.now()
    cols = pool_columns(host, pool, ["fill_pct"], window, now=now)
    week = pool_columns(host, pool, ["allocated_bytes", "size_bytes"], PROJECTION_WINDOW, now=now)
    sizes = [s for s in week.values["size_bytes"] if s]
    size = sizes[-1] if sizes else None
    points = [
        (t.timestamp(), v) for t, v in zip(week.times, week.values["allocated_bytes"], strict=True)
    ]
    projection = project_fill(points, size, now.timestamp())
    fill = _chart("fill", "Pool fill", "pct", cols, [("fill", "fill_pct", 1)])
    fill["max"] = 100  # a full pool is the top of the chart
    payload = _envelope(window, now, [fill])
    payload["projection"] = projection.as_json()
    payload["pool"] = pool
    payload["host"] = host.name
    return payload


def dashboard_summary(
    hosts: QuerySet[Host], domains: QuerySet[Domain], *, now: datetime | None = None
) -> dict[str, Any]:
    """A CPU sparkline per host (the last hour) and the domUs busiest over the last 15 minutes.

    Three queries whatever the number of hosts: the hosts, their raw samples of the last hour,
    and the top domUs (their averages, then their names).
    """
    now = now or timezone.now()
    host_rows = list(hosts.order_by("name").values_list("pk", "code", "name"))
    samples: dict[int, list[tuple[int, float | None]]] = {pk: [] for pk, _, _ in host_rows}
    for host_id, at, dom0, domu in (
        HostSample.objects.filter(
            host_id__in=samples, resolution=Resolution.RAW, at__gte=now - SPARK_WINDOW
        )
        .order_by("at")
        .values_list("host_id", "at", "cpu_dom0_pct", "cpu_domu_pct")
    ):
        total = None if dom0 is None and domu is None else (dom0 or 0) + (domu or 0)
        samples[host_id].append((int(at.timestamp()), _num(total)))
    sparks = []
    for pk, code, name in host_rows:
        points = samples[pk]
        sparks.append(
            {
                "code": code,
                "name": name,
                "data": [[t for t, _ in points], [v for _, v in points]],
                "last": points[-1][1] if points else None,
            }
        )
    top = (
        DomainSample.objects.filter(
            domain__in=domains.values("pk"),
            resolution=Resolution.RAW,
            at__gte=now - TOP_WINDOW,
            cpu_pct__isnull=False,
        )
        .values("domain_id")
        .annotate(avg=Avg("cpu_pct"))
        .order_by("-avg", "domain_id")[:TOP_COUNT]
    )
    averages = {row["domain_id"]: row["avg"] for row in top}
    names = {
        pk: (code, name, host)
        for pk, code, name, host in Domain.objects.filter(pk__in=averages).values_list(
            "pk", "code", "name", "host__name"
        )
    }
    busiest = [
        {
            "name": names[pk][1],
            "host": names[pk][2],
            "url": reverse("domains:detail", args=[names[pk][0]]),
            "cpu": _num(avg),
        }
        for pk, avg in averages.items()
        if pk in names
    ]
    return {"to": int(now.timestamp()), "hosts": sparks, "top": busiest}
