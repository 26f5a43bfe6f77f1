"""Delivery after the quiet period and after a rule edit, with a real worker and a local webhook
receiver: a condition that fired again inside the quiet period is sent once the period is over;
disabling or editing a rule sends "resolved" to where its "firing" went."""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from hosts.models import Host
from monitoring import alerts
from monitoring.models import Alert, AlertKind, AlertRule
from storage.models import Pool
from tests.monitoring.support import Receiver


def _full_pool() -> Pool:
    host = Host.objects.create(name="xen1", transport="sim")
    return Pool.objects.create(
        host=host, name="zroot", size_bytes=100, allocated_bytes=90, free_bytes=10,
        health="ONLINE", seen_at=timezone.now(),
    )  # fmt: skip


def _evaluate(rule: AlertRule, at: timezone.datetime) -> None:
    with transaction.atomic():
        alerts.evaluate_rule(rule, at)


def _events(receiver: Receiver) -> list[str]:
    return [b["event"] for b in receiver.bodies]


def test_a_condition_back_inside_the_quiet_period_is_sent_when_it_ends(
    worker: object, receiver: Receiver
) -> None:
    pool = _full_pool()
    rule = AlertRule.objects.create(
        kind=AlertKind.POOL_FULL, name="pool 80", threshold=80, quiet_minutes=60,
        webhook_url=receiver.url,
    )  # fmt: skip
    t0 = timezone.now()
    _evaluate(rule, t0)
    receiver.wait_for(1)  # two deliveries at once may arrive in either order
    Pool.objects.filter(pk=pool.pk).update(allocated_bytes=10)
    _evaluate(rule, t0 + timedelta(minutes=1))
    assert [b["event"] for b in receiver.wait_for(2)] == ["firing", "resolved"]
    Pool.objects.filter(pk=pool.pk).update(allocated_bytes=95)
    _evaluate(rule, t0 + timedelta(minutes=2))  # back inside the quiet period: not sent yet
    _evaluate(rule, t0 + timedelta(minutes=59))
    time.sleep(1.0)
    assert _events(receiver) == ["firing", "resolved"]
    _evaluate(rule, t0 + timedelta(minutes=61))  # the period is over and it still fires
    receiver.wait_for(3)
    _evaluate(rule, t0 + timedelta(minutes=62))
    time.sleep(1.0)
    assert _events(receiver) == ["firing", "resolved", "firing"]
    alert = Alert.objects.get(rule=rule, state=Alert.State.FIRING)
    assert receiver.bodies[2]["alert"]["id"] == alert.pk and "95 % full" in alert.message
    assert alert.notifications == 1
    assert alert.last_notified_at == t0 + timedelta(minutes=61)


def test_disabling_or_editing_a_rule_sends_resolved_where_firing_went(
    worker: object, admin_client, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    other = Receiver()
    try:
        rule = _firing_pool_rule(receiver)
        form = {"name": "pool 80", "kind": AlertKind.POOL_FULL, "threshold": "80",
                "quiet_minutes": "60", "email": "", "webhook_url": receiver.url}  # fmt: skip
        page = admin_client.post(f"/monitoring/alerts/rules/{rule.pk}/", form)  # disabled
        assert page.status_code == 302
        assert _events_after(receiver, 2) == ["firing", "resolved"]
        assert Alert.objects.get(rule=rule).state == Alert.State.RESOLVED
        # Enabled again with another receiver: it fires there; moved back, the resolve goes to
        # the receiver that got the firing, not to the rule's new one.
        page = admin_client.post(
            f"/monitoring/alerts/rules/{rule.pk}/",
            form | {"enabled": "on", "webhook_url": other.url},
        )
        assert page.status_code == 302
        Alert.objects.filter(rule=rule).update(last_notified_at=timezone.now() - timedelta(hours=2))
        alerts.evaluate()
        assert _events_after(other, 1) == ["firing"]
        page = admin_client.post(f"/monitoring/alerts/rules/{rule.pk}/", form | {"enabled": "on"})
        assert page.status_code == 302
        assert _events_after(other, 2) == ["firing", "resolved"]
        assert _events(receiver) == ["firing", "resolved"]
        assert other.paths == ["/hook", "/hook"]
    finally:
        other.server.shutdown()


def test_deleting_a_firing_rule_sends_its_resolve(
    worker: object, admin_client, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    rule = _firing_pool_rule(receiver)
    alert_id = receiver.bodies[0]["alert"]["id"]
    page = admin_client.post(f"/monitoring/alerts/rules/{rule.pk}/delete/", {"confirm": "pool 80"})
    assert page.status_code == 302 and not AlertRule.objects.filter(pk=rule.pk).exists()
    assert _events_after(receiver, 2) == ["firing", "resolved"]
    resolved = receiver.bodies[1]
    assert resolved["alert"]["id"] == alert_id and resolved["alert"]["state"] == "resolved"
    assert resolved["rule"]["name"] == "pool 80" and resolved["alert"]["resolved_at"]


def _firing_pool_rule(receiver: Receiver) -> AlertRule:
    """A pool-80 % rule on a full pool, evaluated: its firing reached `receiver`."""
    _full_pool()
    rule = AlertRule.objects.create(
        kind=AlertKind.POOL_FULL, name="pool 80", threshold=80, quiet_minutes=60,
        webhook_url=receiver.url,
    )  # fmt: skip
    alerts.evaluate()
    assert _events_after(receiver, 1) == ["firing"]
    return rule


def _events_after(receiver: Receiver, count: int) -> list[str]:
    receiver.wait_for(count)
    time.sleep(0.5)  # nothing more arrives
    return _events(receiver)
