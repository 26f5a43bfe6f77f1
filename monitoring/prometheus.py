"""`/metrics`: the panel's hosts, domUs, pools and jobs in the Prometheus text format.

Who may scrape: a request whose client address is in `XENPANEL_METRICS_ALLOW` (CIDRs, empty by
default), a request with `Authorization: Bearer <token>` where the token (any scope: scraping
only reads) belongs to an **admin** — the metrics name every host and domU, which only admins
see all of — or a signed-in admin's browser session (to look at it). Anyone else: 401 without
credentials, 403 with a token or session that is not an admin's.

Every scrape builds its own `CollectorRegistry` with one collector reading the database (no
process-global metric objects: gunicorn workers would each count differently). The cost is a
fixed handful of queries whatever the number of domUs (tests/monitoring/test_prometheus.py).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from accounts import access, tokens
from accounts.client_ip import client_ip
from domains.models import Domain, DomainState
from hosts.choices import HostStatus
from hosts.models import Host
from jobs.choices import JobStatus
from jobs.models import Job
from monitoring.models import DomainSample, Resolution
from storage.models import Pool

log = logging.getLogger(__name__)

#: Job duration buckets (seconds): a poll takes ~1 s, a create a minute, an ISO fetch an hour.
DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)
#: The histogram covers jobs finished this recently, at most this many (bounded cost).
DURATION_WINDOW = timedelta(hours=24)
DURATION_LIMIT = 5000


# --- who may scrape -----------------------------------------------------------------------------
def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = []
    for text in getattr(settings, "METRICS_ALLOW", []):
        try:
            nets.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            log.warning("XENPANEL_METRICS_ALLOW: %r is not a network; ignored", text)
    return nets


def _from_allowed_address(request: HttpRequest) -> bool:
    nets = _allowed_networks()
    address = client_ip(request) if nets else None
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in net for net in nets)


def authorize(request: HttpRequest) -> int | None:
    """None if the request may scrape, else the status to refuse it with (401 or 403)."""
    if _from_allowed_address(request):
        return None
    keyword, _, text = request.headers.get("Authorization", "").partition(" ")
    if keyword == "Bearer":
        token = tokens.check(text.strip())
        if token is None:
            return 401
        if not access.is_admin(token.user):
            return 403
        tokens.touch(token)
        return None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return None if access.is_admin(user) else 403
    return 401


# --- the collector ------------------------------------------------------------------------------
def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class PanelCollector(Collector):
    """Reads the database once per scrape; each method is one or two queries."""

    def collect(self) -> Iterator[Metric]:
        yield from self._hosts()
        yield from self._domains()
        yield from self._pools()
        yield from self._jobs()

    def _hosts(self) -> Iterator[Metric]:
        up = _gauge("xenpanel_host_up", "1 if the last poll reached the host.", ["host"])
        total = _gauge(
            "xenpanel_host_memory_total_bytes", "Host memory (xl info total_memory).", ["host"]
        )
        free = _gauge(
            "xenpanel_host_memory_free_bytes", "Free host memory (xl info free_memory).", ["host"]
        )
        domus = _gauge("xenpanel_host_domus", "DomUs the last xl list showed.", ["host"])
        passed = _gauge("xenpanel_host_readiness_passed", "Readiness checks that passed.", ["host"])
        checks = _gauge("xenpanel_host_readiness_total", "Readiness checks run.", ["host"])
        maint = _gauge("xenpanel_host_maintenance", "1 while the host is in maintenance.", ["host"])
        rows = Host.objects.order_by("name").values_list(
            "name", "status", "total_memory_mib", "free_memory_mib", "domu_count",
            "readiness_passed", "readiness_total", "maintenance",
        )  # fmt: skip
        for name, status, tot, fr, count, ok, all_, maintenance in rows:
            up.add_metric([name], 1.0 if status == HostStatus.OK else 0.0)
            maint.add_metric([name], 1.0 if maintenance else 0.0)
            for family, value, scale in (
                (total, tot, 2**20), (free, fr, 2**20), (domus, count, 1),
                (passed, ok, 1), (checks, all_, 1),
            ):  # fmt: skip
                if value is not None:
                    family.add_metric([name], float(value * scale))
        yield from (up, total, free, domus, passed, checks, maint)

    def _domains(self) -> Iterator[Metric]:
        labels = ["host", "domu"]
        state = _gauge(
            "xenpanel_domu_state", "1 for the domU's observed state, 0 for the others.",
            [*labels, "state"],
        )  # fmt: skip
        memory = _gauge("xenpanel_domu_memory_bytes", "Configured memory of the domU.", labels)
        vcpus = _gauge("xenpanel_domu_vcpus", "Configured vCPUs of the domU.", labels)
        cpu = _gauge(
            "xenpanel_domu_cpu_percent",
            "CPU use at the latest sample, percent of one physical CPU (xentop CPU(%)).",
            labels,
        )
        # The latest raw sample's CPU per domU: one correlated subquery on the
        # (domain, resolution, at) index, not a query per domU.
        latest = (
            DomainSample.objects.filter(domain=OuterRef("pk"), resolution=Resolution.RAW)
            .order_by("-at")
            .values("cpu_pct")[:1]
        )
        rows = (
            Domain.objects.order_by("host__name", "name")
            .annotate(cpu=Subquery(latest))
            .values_list("host__name", "name", "state", "memory_mb", "vcpus", "cpu")
        )
        states = [s.value for s in DomainState]
        for host, name, current, mem, cores, cpu_pct in rows:
            key = [host, name]
            for s in states:
                state.add_metric([*key, s], 1.0 if s == current else 0.0)
            memory.add_metric(key, float(mem * 2**20))
            vcpus.add_metric(key, float(cores))
            if cpu_pct is not None:
                cpu.add_metric(key, float(cpu_pct))
        yield from (state, memory, vcpus, cpu)

    def _pools(self) -> Iterator[Metric]:
        labels = ["host", "pool"]
        size = _gauge("xenpanel_pool_size_bytes", "ZFS pool size (zpool list).", labels)
        alloc = _gauge("xenpanel_pool_allocated_bytes", "ZFS pool allocated bytes.", labels)
        free = _gauge("xenpanel_pool_free_bytes", "ZFS pool free bytes.", labels)
        health = _gauge("xenpanel_pool_healthy", "1 if the pool's health is ONLINE.", labels)
        rows = Pool.objects.order_by("host__name", "name").values_list(
            "host__name", "name", "size_bytes", "allocated_bytes", "free_bytes", "health"
        )
        for host, name, sz, al, fr, state in rows:
            key = [host, name]
            for family, value in ((size, sz), (alloc, al), (free, fr)):
                if value is not None:
                    family.add_metric(key, float(value))
            health.add_metric(key, 1.0 if state == "ONLINE" else 0.0)
        yield from (size, alloc, free, health)

    def _jobs(self) -> Iterator[Metric]:
        jobs = _gauge("xenpanel_jobs", "Jobs in the panel by kind and status.", ["kind", "status"])
        counts = Job.objects.values_list("kind", "status").annotate(n=Count("pk")).order_by()
        queued = 0
        for kind, status, n in counts:
            jobs.add_metric([kind, status], float(n))
            if status == JobStatus.QUEUED:
                queued += n
        yield jobs
        depth = _gauge("xenpanel_job_queue_depth", "Jobs queued, not started yet.", [])
        depth.add_metric([], float(queued))
        yield depth
        broker = _broker_depth()
        if broker is not None:
            messages = _gauge(
                "xenpanel_broker_queue_messages",
                "Messages waiting in the Redis queue of the default Celery queue.",
                ["queue"],
            )
            messages.add_metric([broker[0]], float(broker[1]))
            yield messages
        yield _durations()


def _durations() -> HistogramMetricFamily:
    """Durations of jobs finished within DURATION_WINDOW, cumulative buckets as Prometheus wants."""
    since = timezone.now() - DURATION_WINDOW
    rows = (
        Job.objects.filter(finished_at__gte=since, started_at__isnull=False)
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")[:DURATION_LIMIT]
    )
    counts = [0] * len(DURATION_BUCKETS)
    total, seen = 0.0, 0
    for started, finished in rows:
        if started is None or finished is None:  # filtered out above; the types allow None
            continue
        seconds = max(0.0, (finished - started).total_seconds())
        total += seconds
        seen += 1
        for i, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                counts[i] += 1
    buckets: list[tuple[str, float]] = [
        (repr(b), float(c)) for b, c in zip(DURATION_BUCKETS, counts, strict=True)
    ]
    buckets.append(("+Inf", float(seen)))
    family = HistogramMetricFamily(
        "xenpanel_job_duration_seconds",
        f"Run time of jobs finished in the last {DURATION_WINDOW.total_seconds() / 3600:g} h.",
        labels=[],
    )
    family.add_metric([], buckets, sum_value=total)
    return family


def _broker_depth() -> tuple[str, int] | None:
    """(queue, length) of the default queue's Redis list; None if Redis does not answer quickly."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    try:
        import redis

        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        try:
            return queue, int(client.llen(queue))
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 — metrics must answer without the broker figure
        log.info("metrics: no broker queue length (%s)", exc)
        return None


def render() -> bytes:
    """The whole text exposition, from a registry made for this scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PanelCollector())
    return generate_latest(registry)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refused = authorize(request)
    if refused == 401:
        response = HttpResponse(
            "Send an admin's API token (Authorization: Bearer xp_…) or scrape from an address "
            "in XENPANEL_METRICS_ALLOW.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if refused == 403:
        return HttpResponse(
            "Only an admin's API token or session may read /metrics.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


# Scrapers have no session: this view answers 401 itself instead of the sign-in redirect.
metrics.login_required = False  # type: ignore[attr-defined]
