"""Celery tasks of the monitoring room (beat: settings.CELERY_BEAT_SCHEDULE "metrics-upkeep").

Sampling itself runs inside each host's poll job (monitoring.sampling); this task does what no
poll can: it records the hosts that do not answer, then downsamples and prunes (bounded work).
"""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def upkeep() -> str:
    from monitoring import retention, sampling

    unreachable = sampling.record_unreachable()
    report = retention.run()
    return f"{unreachable} unreachable host(s) recorded; {report}"
