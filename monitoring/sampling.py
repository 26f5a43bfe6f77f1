"""One metrics sample round per host, taken inside the host poll (hosts.jobs.register_poll_step).

Every host refresh and scheduled poll ends with `sample_host(ctx, host)`: at most once per
XENPANEL_METRICS_SECONDS it runs `xentop -b -f -i 2 -d 1` and `zpool list -H -p` on the host and
writes one HostSample, one DomainSample per domU the panel knows on that host (matched by name)
and one PoolSample per pool, all stamped with the same instant. No extra job per host: 50 hosts
are 50 polls that each take about a second longer (xentop's one-second measuring delay).

Rates: CPU % is xentop's own (its second iteration, measured over one second); disk and network
rates are the growth of xentop's cumulative counters since this host's previous raw round
divided by the time between them, so the first round has none, and a counter that went back
(the domU was restarted) gives none. On FreeBSD libxenstat collects no vif/vbd counters
(NETS/VBDS 0): the rates are then stored as None ("not given"), not 0.

A host that does not answer never reaches the poll steps; `record_unreachable` (beat, in
monitoring.tasks) writes its `HostSample(reachable=False)` rows instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dom0 import commands, metrics_commands, parsers
from dom0.errors import Dom0Error
from dom0.metrics_parsers import XentopRow, parse_xentop
from domains.models import Domain
from hosts.choices import HostStatus
from hosts.models import Host
from jobs.context import JobContext
from monitoring.models import DomainSample, HostSample, PoolSample, Resolution

SECTOR_BYTES = 512  # xentop's VBD_RSECT/VBD_WSECT count 512-byte sectors
KIB = 1024


def metrics_seconds() -> int:
    return int(getattr(settings, "METRICS_SECONDS", 60))


def is_due(last: datetime | None, now: datetime, interval: int) -> bool:
    """Sample when the last raw round is at least ~interval old (90 %: polls jitter)."""
    return last is None or (now - last).total_seconds() >= 0.9 * interval


def sample_host(ctx: JobContext, host: Host) -> None:
    """The poll step: sample `host` if its last raw round is older than METRICS_SECONDS."""
    now = timezone.now()
    last = (
        HostSample.objects.filter(host=host, resolution=Resolution.RAW)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if not is_due(last, now, metrics_seconds()):
        return
    rows = _xentop(ctx, host)
    pools = _pools(ctx, host)
    # The round's instant is taken after xentop answered: its counters are from then.
    write_round(host, timezone.now(), rows, pools, previous_at=last)


def _xentop(ctx: JobContext, host: Host) -> list[XentopRow] | None:
    result = ctx.run(
        metrics_commands.xentop_batch(),
        label="Sample CPU and I/O (xentop)",
        timeout=30,
        check=False,
    )
    if result.rc != 0:
        ctx.note(
            "No CPU and I/O sample",
            f"xentop failed on {host.name} (exit {result.rc}): {result.stderr.strip()[:300]}; "
            "memory and pools are still sampled. Check that xen-tools is installed.",
        )
        return None
    try:
        return parse_xentop(result.stdout)
    except Dom0Error as exc:
        ctx.note("No CPU and I/O sample", f"xentop output on {host.name} not understood: {exc}")
        return None


def _pools(ctx: JobContext, host: Host) -> list[parsers.ZpoolRow]:
    result = ctx.run(commands.zpool_list(), label="Sample pools", timeout=30, check=False)
    if result.rc != 0:
        return []
    try:
        return parsers.parse_zpool_list(result.stdout)
    except Dom0Error:
        return []


@transaction.atomic  # one round is all or nothing (and one BEGIN/COMMIT for its inserts)
def write_round(
    host: Host,
    at: datetime,
    rows: list[XentopRow] | None,
    pools: list[parsers.ZpoolRow],
    *,
    previous_at: datetime | None,
) -> None:
    """Store one round (pure of I/O to the host; the tests call it with fixed rows and times)."""
    facts: dict[str, Any] = host.facts or {}
    cpus = facts.get("nr_cpus") or None
    domus = [r for r in rows or [] if not r.is_dom0]
    dom0 = next((r for r in rows or [] if r.is_dom0), None)
    HostSample.objects.create(
        host=host,
        at=at,
        reachable=True,
        memory_total_mib=facts.get("total_memory_mib"),
        memory_free_mib=facts.get("free_memory_mib"),
        cpu_dom0_pct=_share(dom0.cpu_pct if dom0 else None, cpus),
        cpu_domu_pct=_share(sum(r.cpu_pct or 0.0 for r in domus), cpus) if rows else None,
        domu_count=len(domus) if rows is not None else facts.get("domu_count"),
    )
    if domus:
        _domain_samples(host, at, domus, previous_at)
    PoolSample.objects.bulk_create(
        PoolSample(
            host=host,
            pool=p.name,
            at=at,
            size_bytes=p.size,
            allocated_bytes=p.alloc,
            free_bytes=p.free,
        )
        for p in pools
    )


def _share(pct: float | None, cpus: int | None) -> float | None:
    """xentop's percent of one CPU -> percent of the whole host (every CPU = 100)."""
    if pct is None or not cpus:
        return None
    return round(pct / cpus, 2)


def _domain_samples(
    host: Host, at: datetime, domus: list[XentopRow], previous_at: datetime | None
) -> None:
    ids = dict(
        Domain.objects.filter(host=host, name__in=[r.name for r in domus]).values_list("name", "id")
    )
    before: dict[int, dict[str, Any]] = {}
    elapsed = 0.0
    if previous_at is not None and ids:
        elapsed = (at - previous_at).total_seconds()
        before = dict(
            DomainSample.objects.filter(
                domain_id__in=ids.values(), resolution=Resolution.RAW, at=previous_at
            ).values_list("domain_id", "counters")
        )
    samples = []
    for row in domus:
        domain_id = ids.get(row.name)
        if domain_id is None:
            continue  # a domU the panel does not manage (adopt it to see its charts)
        counters = _counters(row)
        rates = _rates(before.get(domain_id), counters, elapsed)
        samples.append(
            DomainSample(
                domain_id=domain_id,
                host=host,
                at=at,
                cpu_pct=row.cpu_pct,
                memory_mib=row.mem_kib // KIB if row.mem_kib is not None else None,
                counters=counters,
                **rates,
            )
        )
    DomainSample.objects.bulk_create(samples)


def _counters(row: XentopRow) -> dict[str, int | None]:
    net = bool(row.nets)
    disk = bool(row.vbds)
    return {
        "cpu_s": row.cpu_seconds,
        "tx_kib": row.nettx_kib if net else None,
        "rx_kib": row.netrx_kib if net else None,
        "rsect": row.vbd_rsect if disk else None,
        "wsect": row.vbd_wsect if disk else None,
    }


_RATES = {
    "net_tx_bps": ("tx_kib", KIB),
    "net_rx_bps": ("rx_kib", KIB),
    "disk_read_bps": ("rsect", SECTOR_BYTES),
    "disk_write_bps": ("wsect", SECTOR_BYTES),
}


def _rates(
    before: dict[str, Any] | None, now: dict[str, int | None], elapsed: float
) -> dict[str, float | None]:
    """Bytes/s from two rounds' counters; None without a previous round or after a restart."""
    rates: dict[str, float | None] = dict.fromkeys(_RATES)
    if not before or elapsed <= 0:
        return rates
    restarted = (before.get("cpu_s") or 0) > (now.get("cpu_s") or 0)
    if restarted:
        return rates
    for field, (key, unit) in _RATES.items():
        old, new = before.get(key), now.get(key)
        if old is None or new is None or new < old:
            continue
        rates[field] = round((new - old) * unit / elapsed, 1)
    return rates


def record_unreachable(now: datetime | None = None) -> int:
    """Write HostSample(reachable=False) for unreachable hosts whose last raw row is old enough.

    Called by the beat task every interval: the poll of such a host fails before its steps run.
    """
    now = now or timezone.now()
    interval = metrics_seconds()
    recent = HostSample.objects.filter(
        resolution=Resolution.RAW, at__gt=now - timedelta(seconds=0.9 * interval)
    ).values("host_id")
    hosts = Host.objects.filter(status=HostStatus.UNREACHABLE).exclude(pk__in=recent)
    created = HostSample.objects.bulk_create(
        HostSample(host_id=pk, at=now, reachable=False) for pk in hosts.values_list("pk", flat=True)
    )
    return len(created)
