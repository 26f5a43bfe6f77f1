"""Deliver alert notifications: e-mail (Django's mail settings) and a webhook (JSON POST).

`queue(alert, event)` sends Celery tasks once the evaluation's transaction commits, so an
evaluation never waits on a mail server or a slow receiver. The webhook task POSTs with a
timeout and retries with back-off (5 s, 10 s, 20 s, 40 s); e-mail is retried the same way.
Only http(s) webhook URLs are used, and redirects are not followed (a 3xx is a failed delivery,
retried like the others): the rule names the one receiver, a redirect must not pick another
host or scheme.
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
from typing import Any, NoReturn
from urllib.parse import urlsplit

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


def queue(
    alert: Alert,
    event: str,
    *,
    email: str | None = None,
    webhook_url: str | None = None,
    frozen: bool = False,
) -> None:
    """Send the rule's e-mail and webhook for `alert` after the current transaction commits.

    `email` and `webhook_url` override the rule's (a resolve after an edit goes where the
    firing went, not to the rule's new addresses). `frozen` sends what the alert says now
    instead of reading it when the task runs: the rule and its alerts are being deleted.
    """
    rule = alert.rule
    pk = alert.pk
    to = rule.email if email is None else email
    url = rule.webhook_url if webhook_url is None else webhook_url
    snapshot: dict[str, Any] = {"snapshot": payload(alert, event)} if frozen else {}
    if to:
        extra = {**({} if email is None else {"to": to}), **snapshot}
        transaction.on_commit(lambda: _send(send_email, pk, event, extra))
    if url:
        extra = {**({} if webhook_url is None else {"url": url}), **snapshot}
        transaction.on_commit(lambda: _send(send_webhook, pk, event, extra))


def _current(
    alert_pk: int, event: str, snapshot: dict[str, Any] | None
) -> tuple[dict[str, Any], str, str] | None:
    """The alert as the notification tells it (JSON body), and its rule's e-mail and webhook:
    the snapshot taken when it was queued, else the alert as stored (None: deleted since)."""
    if snapshot is not None:
        return snapshot, "", ""
    alert = Alert.objects.select_related("rule").filter(pk=alert_pk).first()
    if alert is None:
        return None
    return payload(alert, event), alert.rule.email, alert.rule.webhook_url


def _send(task: Any, pk: int, event: str, extra: dict[str, Any]) -> None:
    """Queue one delivery; a broker that does not answer loses it (logged), never the
    evaluation that decided it (the Alert row stays, the page shows it)."""
    try:
        task.delay(pk, event, **extra)
    except Exception:  # noqa: BLE001 — kombu raises many kinds when Redis is down
        log.exception("alert %s: could not queue the %s notification", pk, event)


def _retry_in(retries: int) -> int:
    return BACKOFF * 2**retries


@shared_task(bind=True, name="monitoring.notify.send_email", max_retries=RETRIES)
def send_email(
    self: Any,
    alert_pk: int,
    event: str,
    to: str | None = None,
    snapshot: dict[str, Any] | None = None,
) -> None:
    found = _current(alert_pk, event, snapshot)
    if found is None:
        return
    body_json, rule_email, _ = found
    to = rule_email if to is None else to
    if not to:
        return
    verb = "FIRING" if event == FIRING else "resolved"
    subject = f"[xenpanel] {verb}: {body_json['rule']['name']} — {body_json['alert']['label']}"
    message = body_json["alert"]["message"]
    body = message
    if event == RESOLVED:
        cleared = "the rule was deleted" if snapshot is not None else "the condition cleared"
        body = f"Resolved: {cleared}.\n\nIt was: {message}"
    try:
        send_mail(subject[:200], body, settings.DEFAULT_FROM_EMAIL, recipients(to))
    except Exception as exc:  # noqa: BLE001 — SMTP errors are many classes; retry them all
        if self.request.retries >= RETRIES:
            log.error("alert %s: e-mail not sent after %d tries: %s", alert_pk, RETRIES + 1, exc)
            return
        raise self.retry(exc=exc, countdown=_retry_in(self.request.retries)) from exc


def is_web_url(url: str) -> bool:
    """An http(s) URL with a host: the only kind a webhook may be."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def safe_url(url: str) -> str:
    """Scheme, host, port and path of `url`: what may be shown or audited (never the query,
    which often holds a token, nor user:password)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"[:300]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: it fails the delivery like any other error status."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> NoReturn:
        raise urllib.error.HTTPError(
            req.full_url, code, f"redirect refused ({code} {msg})", headers, fp
        )


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_json(url: str, body: dict[str, Any], timeout: float = WEBHOOK_TIMEOUT) -> int:
    """POST `body` as JSON; return the status (an error status or a redirect raises HTTPError,
    a URL that is not http(s) ValueError)."""
    if not is_web_url(url):
        raise ValueError(f"not an http(s) URL: {safe_url(url)!r}")
    data = json.dumps(body).encode()
    # Checked http(s) just above (S310: no file: here), and the opener follows no redirect.
    request = urllib.request.Request(  # noqa: S310
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "xenpanel-alerts"},
    )
    with _OPENER.open(request, timeout=timeout) as response:
        return int(response.status)


@shared_task(bind=True, name="monitoring.notify.send_webhook", max_retries=RETRIES)
def send_webhook(
    self: Any,
    alert_pk: int,
    event: str,
    url: str | None = None,
    snapshot: dict[str, Any] | None = None,
) -> None:
    found = _current(alert_pk, event, snapshot)
    if found is None:
        return
    body_json, _, rule_url = found
    url = rule_url if url is None else url
    if not url:
        return
    if not is_web_url(url):  # a retry would not change it
        log.error("alert %s: webhook %s is not an http(s) URL; not sent", alert_pk, safe_url(url))
        return
    try:
        post_json(url, body_json)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        if self.request.retries >= RETRIES:
            log.error(
                "alert %s: webhook not delivered after %d tries: %s", alert_pk, RETRIES + 1, exc
            )
            return
        raise self.retry(exc=exc, countdown=_retry_in(self.request.retries)) from exc
