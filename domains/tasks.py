"""Celery tasks of the domains app: the scheduled snapshots beat queues."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def take_scheduled_snapshots() -> list[str]:
    """Queue a snapshot job for every domU whose hourly or daily snapshot is due."""
    from domains.snapshots.schedule import queue_due

    return queue_due()
