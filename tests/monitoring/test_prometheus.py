"""/metrics: the Prometheus text format (parsed with prometheus_client's own parser), who may
scrape it, and a query count that does not grow with the domUs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts import tokens
from domains.models import Domain
from hosts.models import Host
from jobs.models import Job
from monitoring.models import DomainSample
from storage.models import Pool
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]


def user_with(django_user_model, name: str, role: str):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(name, password="pw-Long-enough-1")
    user.groups.add(Group.objects.get(name=role))
    return user


def seed(domus: int) -> Host:
    host = Host.objects.create(name="xen1", transport="sim")
    # Host.save derives these from facts/readiness; a scrape only reads the columns.
    Host.objects.filter(pk=host.pk).update(
        status="ok", total_memory_mib=65536, free_memory_mib=30000, domu_count=domus,
        readiness_passed=9, readiness_total=10,
    )  # fmt: skip
    rows = Domain.objects.bulk_create(
        Domain(host=host, name=f"web{i}", memory_mb=1024, vcpus=2, state="running")
        for i in range(domus)
    )
    now = timezone.now()
    DomainSample.objects.bulk_create(
        DomainSample(domain=d, host=host, at=now, cpu_pct=12.5) for d in rows
    )
    Pool.objects.create(
        host=host, name="zroot", size_bytes=100 * 2**30, allocated_bytes=85 * 2**30,
        free_bytes=15 * 2**30, health="ONLINE", seen_at=now,
    )  # fmt: skip
    for status, seconds in (("succeeded", 3), ("failed", 70), ("queued", None)):
        Job.objects.create(
            kind="domain.start", title="Start", status=status,
            started_at=now - timedelta(seconds=seconds) if seconds else None,
            finished_at=now if seconds else None,
        )  # fmt: skip
    return host


def scrape(client: Client, token: str | None = None, **extra: str):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/metrics", headers=headers, **extra)


def test_an_admin_token_reads_metrics_that_prometheus_parses(django_user_model) -> None:
    seed(3)
    admin = user_with(django_user_model, "ada", "admin")
    text = tokens.issue(admin, "prometheus").secret
    response = scrape(Client(), text)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    up = families["xenpanel_host_up"].samples
    assert [(s.labels, s.value) for s in up] == [({"host": "xen1"}, 1.0)]
    assert families["xenpanel_host_memory_total_bytes"].samples[0].value == 65536 * 2**20
    running = [
        s for s in families["xenpanel_domu_state"].samples
        if s.labels["state"] == "running" and s.value == 1.0
    ]  # fmt: skip
    assert len(running) == 3
    assert {s.value for s in families["xenpanel_domu_cpu_percent"].samples} == {12.5}
    alloc = families["xenpanel_pool_allocated_bytes"].samples[0]
    assert alloc.labels == {"host": "xen1", "pool": "zroot"} and alloc.value == 85 * 2**30
    jobs = {
        (s.labels["kind"], s.labels["status"]): s.value for s in families["xenpanel_jobs"].samples
    }
    assert jobs[("domain.start", "failed")] == 1.0
    assert families["xenpanel_job_queue_depth"].samples[0].value == 1.0
    hist = {
        (s.name, s.labels.get("le")): s.value
        for s in families["xenpanel_job_duration_seconds"].samples
    }
    assert hist[("xenpanel_job_duration_seconds_bucket", "5.0")] == 1.0
    assert hist[("xenpanel_job_duration_seconds_bucket", "+Inf")] == 2.0
    assert hist[("xenpanel_job_duration_seconds_count", None)] == 2.0


def test_it_refuses_without_credentials_and_for_non_admins(django_user_model) -> None:
    seed(1)
    anonymous = scrape(Client())
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert scrape(Client(), "xp_deadbeef_nonsense").status_code == 401
    operator = user_with(django_user_model, "olga", "operator")
    assert scrape(Client(), tokens.issue(operator, "x").secret).status_code == 403
    signed_in = Client()
    signed_in.force_login(operator)
    assert scrape(signed_in).status_code == 403
    admin = user_with(django_user_model, "ada", "admin")
    revoked = tokens.issue(admin, "old")
    tokens.revoke(revoked.token)
    assert scrape(Client(), revoked.secret).status_code == 401


def test_an_allowed_address_scrapes_without_a_token(settings) -> None:  # type: ignore[no-untyped-def]
    seed(1)
    settings.METRICS_ALLOW = ["10.0.0.0/8", "127.0.0.0/8"]
    assert scrape(Client(), REMOTE_ADDR="127.0.0.1").status_code == 200
    assert scrape(Client(), REMOTE_ADDR="192.0.2.7").status_code == 401
    settings.METRICS_ALLOW = []
    assert scrape(Client(), REMOTE_ADDR="127.0.0.1").status_code == 401


def test_the_query_count_does_not_grow_with_the_domus(django_user_model) -> None:
    admin = user_with(django_user_model, "ada", "admin")
    text = tokens.issue(admin, "prometheus").secret
    scrape(Client(), text)  # the token's last_used_at is written on first use only
    counts = []
    for domus in (10, 200):
        Host.objects.all().delete()
        seed(domus)
        with CaptureQueriesContext(connection) as ctx:
            response = scrape(Client(), text)
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10, counts
