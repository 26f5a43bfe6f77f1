"""The job row is the outbox: send jobs to the broker, and again when a send or a worker is lost.

A request creates the row and asks for it to be sent once its transaction commits. If the
broker does not answer, the request still succeeds: the job stays queued with a note, and the
sweep (`reap_and_send`, run by beat every JOB_REAP_SECONDS and when a worker starts) sends it when
the broker is back. Every extra message is harmless: `runner.execute` lets one run do the work.

The same sweep reaps running jobs whose lease lapsed (their worker stopped renewing it): it puts
them back in the queue to be resumed — every step checks the host before it acts — or, after
JOB_MAX_ATTEMPTS, or when someone asked to cancel, ends them with a reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from jobs.choices import JobStatus
from jobs.models import Job
from jobs.runner import db_now

log = logging.getLogger(__name__)

#: What the page says while the broker cannot be reached.
UNSENT = "Waiting for the queue: the job broker did not answer; the panel sends it when it does"
#: A queued row younger than this is left to the request's own send.
SEND_GRACE = timedelta(seconds=5)


def send(job_id: int, queue: str) -> bool:
    """Hand the job to the broker; on failure leave it for the sweep and say so on the job."""
    from jobs.tasks import run_job

    try:
        run_job.apply_async(args=[job_id], queue=queue, retry=False)
    except Exception as exc:  # kombu/redis raise several kinds for "broker down"
        log.warning("job %s not sent (%s); the sweep sends it later", job_id, exc)
        Job.objects.filter(pk=job_id, status=JobStatus.QUEUED, sent_at__isnull=True).update(
            message=UNSENT
        )
        return False
    Job.objects.filter(pk=job_id).update(sent_at=timezone.now())
    return True


def reap_and_send() -> dict[str, int]:
    """Send unsent jobs, re-send lost waits, and resume or end jobs whose lease lapsed."""
    now = db_now()  # the clock the heartbeats are written with
    lease = timedelta(seconds=settings.JOB_LEASE_SECONDS)
    counts = {"sent": 0, "resent": 0, "resumed": 0, "failed": 0, "cancelled": 0}
    queued = Job.objects.filter(status=JobStatus.QUEUED)
    # Never sent (the broker was down when it was made); or sent a lease ago and no worker has
    # shown it has the message since (a worker that died held it). A copy of a message that was
    # not lost is harmless: `execute` lets one run the job. Each resend counts as a send, so a
    # job waiting in a long queue gets at most one copy per lease.
    for job in queued.filter(
        Q(sent_at__isnull=True, created_at__lt=now - SEND_GRACE)
        | (
            Q(sent_at__lt=now - lease)
            & (Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - lease))
        )
    ).only("pk", "queue", "sent_at"):
        if send(job.pk, job.queue):
            counts["sent" if job.sent_at is None else "resent"] += 1
    # A running job without a heartbeat was started before leases existed (or by a worker that
    # died at once): its start time stands in.
    stale = Q(heartbeat_at__lt=now - lease) | Q(
        heartbeat_at__isnull=True, started_at__lt=now - lease
    )
    for job in Job.objects.filter(stale, status=JobStatus.RUNNING):
        counts[_reap(job, now)] += 1
    return counts


def _reap(job: Job, now: datetime) -> str:
    """Resume a job whose worker is gone, or end it with a reason; return what was done."""
    step = job.steps.order_by("-seq").first()
    where = f"at step {step.seq} ({step.label})" if step else "before its first step"
    lost = f"The worker running this job stopped {where}; its lease lapsed at {now:%H:%M:%S}."
    mine = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=job.heartbeat_at)
    if job.cancel_requested:
        done = mine.update(
            status=JobStatus.CANCELLED, finished_at=now, message="Cancelled", error=lost
        )
        return "cancelled" if done else "resumed"
    if job.attempt >= settings.JOB_MAX_ATTEMPTS:
        done = mine.update(
            status=JobStatus.FAILED,
            finished_at=now,
            message="Failed: its worker stopped",
            error=f"{lost} It was started {job.attempt} times; the panel stopped trying. "
            "Check the target's state on the host (refresh it) before running it again.",
        )
        return "failed" if done else "resumed"
    if mine.update(
        status=JobStatus.QUEUED,
        message="Resuming: its worker stopped; a worker will carry on from where it was",
        heartbeat_at=now,
    ):
        send(job.pk, job.queue)
    return "resumed"
