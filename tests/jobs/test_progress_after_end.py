"""Pending progress never outlives its run (review of issue 16).

The runner used to write how a job ended and only then close the context, whose flush wrote the
pending progress over it: a job that reported "Copying" and failed a moment later was left
showing "Copying". Now the context is closed (flushed) first, and every progress write only
touches the row while the job is active in the same attempt. A real worker runs the jobs.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from jobs.choices import JobStatus
from jobs.context import JobContext, StepFailed
from jobs.enqueue import Target, enqueue
from jobs.models import Job
from jobs.registry import job_kind
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

FAILS_IN_WINDOW = "test.progress.fails_in_window"
CANCELLED_IN_WINDOW = "test.progress.cancelled_in_window"


@job_kind(FAILS_IN_WINDOW)
def fails_in_window(ctx: JobContext) -> str:
    ctx.progress(50, "Copying the image")  # just after "Started": coalesced, still pending
    raise StepFailed("zfs: out of space on host h1. Free space in the pool and try again.")


@job_kind(CANCELLED_IN_WINDOW)
def cancelled_in_window(ctx: JobContext) -> str:
    ctx.progress(20, "Waiting for the guest")
    Job.objects.filter(pk=ctx.job.pk).update(cancel_requested=True)
    ctx.check_cancelled(force=True)
    return "not reached"


def _enqueue(kind: str) -> Job:
    with transaction.atomic():
        return enqueue(kind, title=kind, targets=[Target("system", label="Panel")])


def test_a_job_failing_inside_the_coalescing_window_ends_with_its_failure_message(worker) -> None:  # type: ignore[no-untyped-def]
    job = wait_for_job(_enqueue(FAILS_IN_WINDOW))
    assert (job.status, job.message) == (JobStatus.FAILED, "Failed")
    assert "out of space" in job.error
    assert job.progress == 50  # the last percent reported is kept; only the message is final


def test_a_job_cancelled_inside_the_coalescing_window_ends_cancelled(worker) -> None:  # type: ignore[no-untyped-def]
    job = wait_for_job(_enqueue(CANCELLED_IN_WINDOW))
    assert (job.status, job.message) == (JobStatus.CANCELLED, "Cancelled")


def test_a_late_flush_never_overwrites_an_ended_job(transactional_db) -> None:
    job = Job.objects.create(kind=FAILS_IN_WINDOW, title="t", status=JobStatus.RUNNING, attempt=1)
    ctx = JobContext(job)
    ctx.progress(60, "Destroying it")  # pending
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, message="Failed")
    ctx.close()
    job.refresh_from_db()
    assert (job.status, job.progress, job.message) == (JobStatus.FAILED, 0, "Failed")


def test_a_late_flush_never_overwrites_the_run_that_took_the_job_over(transactional_db) -> None:
    job = Job.objects.create(kind=FAILS_IN_WINDOW, title="t", status=JobStatus.RUNNING, attempt=1)
    ctx = JobContext(job)
    ctx.progress(60, "Destroying it")
    Job.objects.filter(pk=job.pk).update(attempt=2, message="Resumed after its worker was lost")
    ctx.close()
    job.refresh_from_db()
    assert (job.progress, job.message) == (0, "Resumed after its worker was lost")
