"""Celery tasks of the hosts app: the scheduled refresh of every host."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def refresh_all_hosts() -> int:
    """Queue a refresh job for every host (beat runs this on a schedule)."""
    from hosts.jobs import queue_refresh_all

    return queue_refresh_all()
