"""Deliver alert notifications: e-mail (Django's mail settings) and a webhook (JSON POST).

`queue(alert, event)` sends Celery tasks once the evaluation's transaction commits, so an
evaluation never waits on a mail server or a slow receiver. The webhook task POSTs with a
timeout and retries with back-off (5 s, 10 s, 20 s, 40 s); e-mail is retried the same way.
What was sent is decided (and counted on the Alert) at evaluation time; a delivery that fails
every retry is logged, not re-decided.

The JSON body (also documented on the rules page):
{"event": "firing"|"resolved", "rule": {"id", "name", "kind", "threshold"},
 "alert": {"id", "subject", "label", "message", "state", "started_at", "resolved_at"}}
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from monitoring.models import Alert

log = logging.getLogger(__name__)

FIRING = "firing"
RESOLVED = "resolved"
WEBHOOK_TIMEOUT = 10  # seconds per attempt
RETRIES = 4
BACKOFF = 5  # seconds, doubled each retry


def payload(alert: Alert, event: str) -> dict[str, Any]:
    rule = alert.rule
    return {
        "event": event,
        "rule": {"id": rule.pk, "name": rule.name, "kind": rule.kind, "threshold": rule.threshold},
        "alert": {
            "id": alert.pk,
            "subject": alert.subject,
            "label": alert.subject_label,
            "message": alert.message,
            "state": alert.state,
            "started_at": alert.started_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        },
    }


def recipients(rule_email: str) -> list[str]:
    return [a.strip() for a in rule_email.replace(";", ",").split(",") if a.strip()]


def queue(alert: Alert, event: str) -> None:
    """Send the rule's e-mail and webhook for `alert` after the current transaction commits."""
    rule = alert.rule
    pk = alert.pk
    if rule.email:
        transaction.on_commit(lambda: _send(send_email, pk, event))
    if rule.webhook_url:
        transaction.on_commit(lambda: _send(send_webhook, pk, event))


def _send(task: Any, pk: int, event: str) -> None:
    """Queue one delivery; a broker that does not answer loses it (logged), never the
    evaluation that decided it (the Alert row stays, the page shows it)."""
    try:
        task.delay(pk, event)
    except Exception:  # noqa: BLE001 — kombu raises many kinds when Redis is down
        log.exception("alert %s: could not queue the %s notification", pk, event)


def _retry_in(retries: int) -> int:
    return BACKOFF * 2**retries


@shared_task(bind=True, name="monitoring.notify.send_email", max_retries=RETRIES)
def send_email(self: Any, alert_pk: int, event: str) -> None:
    alert = Alert.objects.select_related("rule").filter(pk=alert_pk).first()
    if alert is None or not alert.rule.email:
        return
    verb = "FIRING" if event == FIRING else "resolved"
    subject = f"[xenpanel] {verb}: {alert.rule.name} — {alert.subject_label}"
    body = alert.message
    if event == RESOLVED:
        body = f"Resolved: the condition cleared.\n\nIt was: {alert.message}"
    try:
        send_mail(subject[:200], body, settings.DEFAULT_FROM_EMAIL, recipients(alert.rule.email))
    except Exception as exc:  # noqa: BLE001 — SMTP errors are many classes; retry them all
        if self.request.retries >= RETRIES:
            log.error("alert %s: e-mail not sent after %d tries: %s", alert_pk, RETRIES + 1, exc)
            return
        raise self.retry(exc=exc, countdown=_retry_in(self.request.retries)) from exc


def post_json(url: str, body: dict[str, Any], timeout: float = WEBHOOK_TIMEOUT) -> int:
    """POST `body` as JSON; return the status (an error status raises HTTPError)."""
    data = json.dumps(body).encode()
    # The URL is an admin's rule setting, checked http(s) by the form (S310: no file: here).
    request = urllib.request.Request(  # noqa: S310
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "xenpanel-alerts"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return int(response.status)


@shared_task(bind=True, name="monitoring.notify.send_webhook", max_retries=RETRIES)
def send_webhook(self: Any, alert_pk: int, event: str) -> None:
    alert = Alert.objects.select_related("rule").filter(pk=alert_pk).first()
    if alert is None or not alert.rule.webhook_url:
        return
    try:
        post_json(alert.rule.webhook_url, payload(alert, event))
    except (OSError, urllib.error.URLError, ValueError) as exc:
        if self.request.retries >= RETRIES:
            log.error(
                "alert %s: webhook not delivered after %d tries: %s", alert_pk, RETRIES + 1, exc
            )
            return
        raise self.retry(exc=exc, countdown=_retry_in(self.request.retries)) from exc
