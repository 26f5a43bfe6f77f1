"""Alerts end to end: a pool filled in the simulator fires a rule, a webhook receiver (a local
HTTP server) gets it once however often the rules are evaluated within the quiet period, an
e-mail goes out (locmem), and freeing the pool resolves it (one more POST, "resolved")."""

from __future__ import annotations

import time

from django.core import mail

from dom0.sim import SimHost
from dom0.sim.faults_load import fill_pool, free_pool
from monitoring import alerts
from monitoring.models import Alert, AlertKind, AlertRule
from storage.models import Pool
from tests.domains.support import poll, refreshed_host
from tests.monitoring.support import Receiver


def test_a_filled_pool_fires_once_and_resolves_when_freed(
    worker: object, tmp_path, settings, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    host = refreshed_host("xen1", tmp_path, full=True)
    rule = AlertRule.objects.create(
        kind=AlertKind.POOL_FULL, name="pool 80", threshold=80, quiet_minutes=60,
        webhook_url=receiver.url, email="ops@example.com",
    )  # fmt: skip
    sim = SimHost(host.sim_dir)
    fill_pool(sim, 90)
    poll(host, full=True)  # reads zpool list, then the poll step evaluates this host's rules
    pool = Pool.objects.get(host=host)
    assert pool.used_percent is not None and pool.used_percent >= 89
    bodies = receiver.wait_for(1)
    assert len(bodies) == 1, bodies
    body = bodies[0]
    assert body["event"] == "firing" and body["rule"]["name"] == "pool 80"
    assert body["alert"]["subject"] == f"pool:{host.pk}:{pool.name}"
    assert "90 % full" in body["alert"]["message"]
    # More evaluations within the quiet period: still firing, nothing sent again.
    for _ in range(3):
        alerts.evaluate()
    poll(host, full=True)
    time.sleep(1.0)
    assert len(receiver.bodies) == 1
    alert = Alert.objects.get(rule=rule)
    assert alert.state == Alert.State.FIRING and alert.notifications == 1
    # Freed: resolved, and the receiver hears it.
    free_pool(sim)
    poll(host, full=True)
    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED and alert.resolved_at is not None
    bodies = receiver.wait_for(2)
    assert [b["event"] for b in bodies] == ["firing", "resolved"]
    deadline = time.monotonic() + 10
    while len(mail.outbox) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [m.subject.split(":")[0] for m in mail.outbox] == [
        "[xenpanel] FIRING",
        "[xenpanel] resolved",
    ]
    assert mail.outbox[0].to == ["ops@example.com"]
