"""Webhooks go only to the http(s) URL the rule names (no redirect is followed: a 3xx is a failed
delivery, retried); rule changes are audited without the webhook's query or credentials."""

from __future__ import annotations

import urllib.error

import pytest
from django.utils import timezone

from accounts.models import AuditEntry
from hosts.models import Host
from monitoring import notify
from monitoring.alert_forms import AlertRuleForm
from monitoring.alert_views import RULE_CHANGE
from monitoring.models import Alert, AlertKind, AlertRule
from tests.monitoring.support import Receiver

HOOK = "https://ops:hunter2@hooks.example.com/alerts/x?token=s3cret"
SAFE = "https://hooks.example.com/alerts/x"


def test_a_redirect_is_refused_and_other_schemes_are_never_opened(receiver: Receiver) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        notify.post_json(f"{receiver.base}/moved", {"event": "firing"})
    assert refused.value.code == 302
    assert receiver.paths == ["/moved"] and receiver.bodies == []  # /hook never reached
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://h/", "http:///nohost"):
        with pytest.raises(ValueError, match="not an http"):
            notify.post_json(url, {})
    assert notify.post_json(receiver.url, {"event": "firing"}) == 204
    assert receiver.bodies == [{"event": "firing"}]


@pytest.mark.django_db
def test_a_redirecting_webhook_is_retried_like_any_failure(receiver: Receiver) -> None:
    rule = AlertRule.objects.create(
        kind=AlertKind.POOL_FULL, name="r", webhook_url=f"{receiver.base}/moved"
    )
    Host.objects.create(name="xen1", transport="sim")
    alert = Alert.objects.create(
        rule=rule, subject="pool:1:zroot", subject_label="pool", message="full",
        started_at=timezone.now(),
    )  # fmt: skip
    # apply() runs the task here; an eager retry runs again at once (no back-off wait).
    notify.send_webhook.apply(args=(alert.pk, notify.FIRING))
    assert receiver.paths == ["/moved"] * (notify.RETRIES + 1)
    assert receiver.bodies == []


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.example.com/x?token=1", True),
        ("http://127.0.0.1:8080/hook", True),
        ("ftp://hooks.example.com/x", False),
        ("file:///etc/passwd", False),
        ("javascript:alert(1)", False),
    ],
)
@pytest.mark.django_db
def test_the_rule_form_takes_only_http_urls(url: str, ok: bool) -> None:
    data = {"name": "r", "kind": AlertKind.JOB_FAILED, "quiet_minutes": 60, "webhook_url": url}
    form = AlertRuleForm(data)
    assert form.is_valid() is ok, form.errors
    assert notify.is_web_url(url) is ok


@pytest.mark.django_db
def test_rule_changes_are_audited_without_the_webhook_secrets(admin_client) -> None:  # type: ignore[no-untyped-def]
    form = {"name": "pools", "kind": AlertKind.POOL_FULL, "threshold": "80",
            "quiet_minutes": "60", "email": "ops@example.com", "webhook_url": HOOK,
            "enabled": "on"}  # fmt: skip
    assert admin_client.post("/monitoring/alerts/rules/new/", form).status_code == 302
    rule = AlertRule.objects.get()
    assert rule.webhook_url == HOOK
    created = AuditEntry.objects.get(action=RULE_CHANGE)
    assert created.actor_name == "root" and created.target_label == "pools"
    assert created.details["created"]["webhook_url"] == SAFE
    assert created.details["created"]["threshold"] == 80.0
    edited = form | {"threshold": "90", "webhook_url": HOOK.replace("s3cret", "n3w")}
    assert admin_client.post(f"/monitoring/alerts/rules/{rule.pk}/", edited).status_code == 302
    change = AuditEntry.objects.filter(action=RULE_CHANGE).order_by("pk").last()
    assert change is not None
    # The token changed: named, never shown.
    assert change.details["changed"] == {"threshold": [80.0, 90.0], "webhook_url": [SAFE, SAFE]}
    page = admin_client.post(f"/monitoring/alerts/rules/{rule.pk}/delete/", {"confirm": "pools"})
    assert page.status_code == 302 and not AlertRule.objects.exists()
    deleted = AuditEntry.objects.filter(action=RULE_CHANGE).order_by("pk").last()
    assert deleted is not None and deleted.details["deleted"]["name"] == "pools"
    text = str(list(AuditEntry.objects.values_list("details", "target_label", "target_url")))
    assert "s3cret" not in text and "n3w" not in text and "hunter2" not in text
    assert "ops:" not in text and "token" not in text
    page = admin_client.get("/audit/")
    assert page.status_code == 200 and b"alert_rule_change" in page.content
    assert b"s3cret" not in page.content and b"hunter2" not in page.content
