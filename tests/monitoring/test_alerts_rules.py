"""Each alert kind finds its subjects; the quiet period; who sees which alert (no worker)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from accounts.models import Quota
from domains.models import Domain
from hosts.models import Host
from jobs.models import Job
from monitoring import alerts
from monitoring.alert_views import visible_alerts
from monitoring.models import Alert, AlertKind, AlertRule
from storage.models import Pool
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]


def rule(kind: str, threshold: float | None = None, quiet: int = 60) -> AlertRule:
    return AlertRule.objects.create(kind=kind, name=kind, threshold=threshold, quiet_minutes=quiet)


def user(django_user_model, name: str, role: str):  # type: ignore[no-untyped-def]
    u = django_user_model.objects.create_user(name, password="pw-Long-enough-1")
    u.groups.add(Group.objects.get(name=role))
    return u


@pytest.fixture
def host() -> Host:
    return Host.objects.create(name="xen1", transport="sim")


def test_each_kind_fires_and_resolves(host: Host, django_user_model) -> None:  # type: ignore[no-untyped-def]
    owner = user(django_user_model, "alice", "operator")
    dom = Domain.objects.create(
        host=host, name="web1", memory_mb=1024, owner=owner, state="crashed"
    )
    Host.objects.filter(pk=host.pk).update(status="unreachable", status_reason="no route")
    Host.objects.filter(pk=host.pk).update(created_at=timezone.now() - timedelta(hours=1))
    failing = rule(AlertKind.JOB_FAILED)
    job = Job.objects.create(
        kind="domain.start",
        title="Start web1",
        status="failed",
        error="xl create: boom",
        finished_at=timezone.now(),
    )
    Quota.objects.create(user=owner, domus=1)
    for kind, threshold in (
        (AlertKind.DOMAIN_CRASHED, None),
        (AlertKind.HOST_UNREACHABLE, 5),
        (AlertKind.QUOTA_HIGH, 90),
    ):
        rule(kind, threshold)
    alerts.evaluate()
    subjects = set(Alert.objects.filter(state="firing").values_list("subject", flat=True))
    quota = Quota.objects.get()
    assert subjects == {
        f"domain:{dom.pk}",
        f"host:{host.pk}",
        f"job:{job.pk}",
        f"quota:{quota.pk}:domus",
    }
    assert "boom" in Alert.objects.get(rule=failing).message
    Domain.objects.filter(pk=dom.pk).update(state="running")
    Host.objects.filter(pk=host.pk).update(status="ok")
    alerts.evaluate()
    firing = set(Alert.objects.filter(state="firing").values_list("subject", flat=True))
    assert firing == {f"job:{job.pk}", f"quota:{quota.pk}:domus"}


def test_a_flapping_pool_is_notified_once_per_quiet_period(host: Host) -> None:
    r = rule(AlertKind.POOL_FULL, 80, quiet=60)
    pool = Pool.objects.create(
        host=host,
        name="zroot",
        size_bytes=100,
        allocated_bytes=90,
        free_bytes=10,
        health="ONLINE",
        seen_at=timezone.now(),
    )
    alerts.evaluate()
    Pool.objects.filter(pk=pool.pk).update(allocated_bytes=10)
    alerts.evaluate()
    Pool.objects.filter(pk=pool.pk).update(allocated_bytes=95)
    alerts.evaluate()
    rows = list(Alert.objects.filter(rule=r).order_by("pk").values_list("state", "notifications"))
    # fired and sent; resolved and sent; fired again within the quiet period: not sent
    assert rows == [("resolved", 2), ("firing", 0)]


def test_people_see_alerts_about_what_they_may_see(host: Host, django_user_model) -> None:  # type: ignore[no-untyped-def]
    alice = user(django_user_model, "alice", "operator")
    carol = user(django_user_model, "carol", "operator")
    admin = user(django_user_model, "ada", "admin")
    Domain.objects.create(host=host, name="web1", memory_mb=1024, owner=alice, state="crashed")
    Pool.objects.create(
        host=host,
        name="zroot",
        size_bytes=100,
        allocated_bytes=90,
        free_bytes=10,
        health="ONLINE",
        seen_at=timezone.now(),
    )
    rule(AlertKind.DOMAIN_CRASHED)
    rule(AlertKind.POOL_FULL, 80)
    alerts.evaluate()

    def seen(u) -> set[str]:  # type: ignore[no-untyped-def]
        return {a.subject.split(":")[0] for a in visible_alerts(u)}

    assert seen(alice) == {"domain", "pool"}
    assert seen(carol) == {"pool"}
    assert seen(admin) == {"domain", "pool"}
    client = Client()
    client.force_login(carol)
    page = client.get("/monitoring/alerts/")
    assert page.status_code == 200 and b"web1" not in page.content and b"zroot" in page.content
    assert b'data-testid="nav-alerts">Alerts <span' in page.content
