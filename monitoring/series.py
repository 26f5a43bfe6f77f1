"""Read the sample tables as chart series (the charts, the dashboard and /metrics use this).

Public API (all read-only, one query per call):

    host_series(host, metric, window="1h", *, now=None)         -> list[(datetime, float | None)]
    domain_series(domain, metric, window="1h", *, now=None)     -> list[(datetime, float | None)]
    pool_series(host, pool, metric, window="1h", *, now=None)   -> list[(datetime, float | None)]
    host_columns(host, metrics, window) / domain_columns(domain, metrics, window)
    pool_columns(host, pool, metrics, window)                   -> Columns (uPlot's layout)

`host` / `domain` may be a model instance or a primary key. `window` is one of WINDOWS ("1h",
"1d", "1w", "1m") or a `timedelta`. Times are aware datetimes (UTC), oldest first; a value is None
where the host did not answer or the tools did not give it (a chart draws a gap).

Resolution by window (RESOLUTION_FOR): 1 h → raw, 1 d → 5-minute, 1 w → 5-minute, 1 m → hourly.
Coarse rows only exist for time already rolled up (`monitoring.retention` rolls raw rows older
than an hour into 5-minute averages, those older than a day into hourly ones), so the newest part
of a window is filled from the finer rows after the last coarse bucket: one query fetches all the
resolutions needed and `_stitch` keeps, per instant, only the coarsest row that covers it.

Metrics: the model fields (HOST_METRICS, DOMAIN_METRICS, POOL_METRICS) plus derived ones —
host "memory_used_mib" (total - free), pool "fill_pct" (allocated / size × 100).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Model
from django.utils import timezone

from monitoring.models import DomainSample, HostSample, PoolSample, Resolution

WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "1w": timedelta(weeks=1),
    "1m": timedelta(days=31),
}

#: Length of one bucket of each resolution (raw rows are instants: 0).
BUCKET: dict[str, timedelta] = {
    Resolution.RAW: timedelta(0),
    Resolution.FIVE_MINUTES: timedelta(minutes=5),
    Resolution.HOUR: timedelta(hours=1),
}
_FINEST_FIRST: list[str] = [Resolution.RAW, Resolution.FIVE_MINUTES, Resolution.HOUR]

HOST_METRICS = ("memory_total_mib", "memory_free_mib", "cpu_dom0_pct", "cpu_domu_pct", "domu_count")
DOMAIN_METRICS = (
    "cpu_pct",
    "memory_mib",
    "disk_read_bps",
    "disk_write_bps",
    "net_rx_bps",
    "net_tx_bps",
)
POOL_METRICS = ("size_bytes", "allocated_bytes", "free_bytes")

#: Derived metric -> (fields it needs, how to compute it from their values).
_DERIVED: dict[str, tuple[tuple[str, ...], Any]] = {
    "memory_used_mib": (
        ("memory_total_mib", "memory_free_mib"),
        lambda total, free: None if total is None or free is None else total - free,
    ),
    "fill_pct": (
        ("size_bytes", "allocated_bytes"),
        lambda size, alloc: None if not size or alloc is None else 100.0 * alloc / size,
    ),
}

Point = tuple[datetime, float | None]


@dataclass
class Columns:
    """Series sharing one time axis, in uPlot's layout: `[times, *values]` via `as_uplot()`."""

    times: list[datetime] = field(default_factory=list)
    values: dict[str, list[float | None]] = field(default_factory=dict)
    resolution: str = Resolution.RAW

    def as_uplot(self, metrics: Sequence[str] | None = None) -> list[list[float | None]]:
        """`[[unix seconds...], [metric values...], ...]` (JSON-ready)."""
        names = list(metrics) if metrics is not None else list(self.values)
        return [[t.timestamp() for t in self.times], *[self.values[m] for m in names]]


def window_span(window: str | timedelta) -> timedelta:
    if isinstance(window, timedelta):
        return window
    try:
        return WINDOWS[window]
    except KeyError:
        raise ValueError(f"unknown window {window!r}; use one of {', '.join(WINDOWS)}") from None


def resolution_for(window: str | timedelta) -> str:
    span = window_span(window)
    if span <= timedelta(hours=1):
        return Resolution.RAW
    if span <= timedelta(weeks=1):
        return Resolution.FIVE_MINUTES
    return Resolution.HOUR


RESOLUTION_FOR = {name: resolution_for(name) for name in WINDOWS}


def host_series(
    host: Model | int, metric: str, window: str | timedelta = "1h", **kw: Any
) -> list[Point]:
    return _points(host_columns(host, [metric], window, **kw), metric)


def domain_series(
    domain: Model | int, metric: str, window: str | timedelta = "1h", **kw: Any
) -> list[Point]:
    return _points(domain_columns(domain, [metric], window, **kw), metric)


def pool_series(
    host: Model | int, pool: str, metric: str, window: str | timedelta = "1h", **kw: Any
) -> list[Point]:
    return _points(pool_columns(host, pool, [metric], window, **kw), metric)


def host_columns(
    host: Model | int,
    metrics: Iterable[str],
    window: str | timedelta = "1h",
    *,
    now: datetime | None = None,
) -> Columns:
    rows = HostSample.objects.filter(host_id=_pk(host))
    return _columns(rows, list(metrics), HOST_METRICS, window, now)


def domain_columns(
    domain: Model | int,
    metrics: Iterable[str],
    window: str | timedelta = "1h",
    *,
    now: datetime | None = None,
) -> Columns:
    rows = DomainSample.objects.filter(domain_id=_pk(domain))
    return _columns(rows, list(metrics), DOMAIN_METRICS, window, now)


def pool_columns(
    host: Model | int,
    pool: str,
    metrics: Iterable[str],
    window: str | timedelta = "1h",
    *,
    now: datetime | None = None,
) -> Columns:
    rows = PoolSample.objects.filter(host_id=_pk(host), pool=pool)
    return _columns(rows, list(metrics), POOL_METRICS, window, now)


def _pk(obj: Model | int) -> int:
    return obj if isinstance(obj, int) else obj.pk


def _points(columns: Columns, metric: str) -> list[Point]:
    return list(zip(columns.times, columns.values[metric], strict=True))


def _columns(
    rows: Any,
    metrics: list[str],
    allowed: tuple[str, ...],
    window: str | timedelta,
    now: datetime | None,
) -> Columns:
    fields: list[str] = []
    for metric in metrics:
        needs = _DERIVED[metric][0] if metric in _DERIVED else (metric,)
        for name in needs:
            if name not in allowed:
                raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(allowed)}")
            if name not in fields:
                fields.append(name)
    resolution = resolution_for(window)
    wanted = _FINEST_FIRST[: _FINEST_FIRST.index(resolution) + 1]
    end = now or timezone.now()
    start = end - window_span(window)
    # values_list: never loads DomainSample.counters (JSON) or anything else the chart ignores.
    fetched = rows.filter(resolution__in=wanted, at__gte=start, at__lte=end).values_list(
        "resolution", "at", *fields
    )
    kept = _stitch(list(fetched.order_by("at")), wanted)
    out = Columns(times=[row[1] for row in kept], resolution=resolution)
    index = {name: 2 + i for i, name in enumerate(fields)}
    for metric in metrics:
        if metric in _DERIVED:
            needs, compute = _DERIVED[metric]
            out.values[metric] = [compute(*(row[index[n]] for n in needs)) for row in kept]
        else:
            out.values[metric] = [_number(row[index[metric]]) for row in kept]
    return out


def _stitch(rows: list[tuple[Any, ...]], wanted: list[str]) -> list[tuple[Any, ...]]:
    """Keep the coarsest rows, and finer ones only after the coarser rows' last bucket ends.

    `rows` are (resolution, at, ...) sorted by time; `wanted` is finest first.
    """
    covered_until: datetime | None = None
    kept: list[tuple[Any, ...]] = []
    for res in reversed(wanted):  # coarsest first
        mine = [r for r in rows if r[0] == res]
        if covered_until is not None:
            mine = [r for r in mine if r[1] >= covered_until]
        if mine:
            covered_until = mine[-1][1] + BUCKET[res]
        kept.extend(mine)
    kept.sort(key=lambda r: r[1])
    return kept


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
