"""The beat task that evaluates every alert rule, and the host-poll step that checks one host."""

from __future__ import annotations

import logging

from celery import shared_task

from hosts.models import Host
from jobs.context import JobContext
from monitoring import alerts

log = logging.getLogger(__name__)


@shared_task(name="monitoring.alert_tasks.evaluate", ignore_result=True)
def evaluate() -> str:
    fired, resolved = alerts.evaluate()
    return f"{fired} fired, {resolved} resolved"


def after_poll(ctx: JobContext, host: Host) -> None:
    """Right after a poll read the host's domU states (and, on a full refresh, its pools): a
    crashed domU or a full pool alerts now, not at the next minute. Never fails the poll."""
    try:
        alerts.evaluate(host=host)
    except Exception:  # noqa: BLE001 — the beat evaluation catches up within a minute
        log.exception("alerts: evaluation after the poll of %s failed", host.name)
