"""A coalesced progress update is never lost (issue 16 item 4).

`JobContext.progress` writes at most one update per PROGRESS_INTERVAL; an update inside the window
used to wait for the next call, which may never come while a long command runs. Now it is written
when the window ends, before the next step starts, and when the job ends. A real worker runs the
jobs; the page's progress partial is read while the long step is still running.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.db import transaction
from django.urls import reverse

from jobs.choices import JobStatus, StepStatus
from jobs.context import PROGRESS_INTERVAL, JobContext
from jobs.enqueue import Target, enqueue
from jobs.models import Job
from jobs.registry import job_kind
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

SHUTDOWN = "test.progress.shutdown"
INSIDE = "test.progress.inside_step"
# The worker runs in a thread of this process: a test lets its job's long step end with these.
RELEASE: dict[int, threading.Event] = {}


def _wait_for_release(ctx: JobContext, limit: float = 30.0) -> None:
    """The long command: runs until the test has looked (or `limit` passes)."""
    event = RELEASE.setdefault(ctx.job.pk, threading.Event())
    deadline = time.monotonic() + limit
    while not event.wait(0.05) and time.monotonic() < deadline:
        ctx.check_cancelled()


@job_kind(SHUTDOWN)
def shutdown_like(ctx: JobContext) -> str:
    """What domain.shutdown does: one message just after the start, then a long wait."""
    time.sleep(0.05)
    ctx.progress(30, "Asking the guest to shut down")
    with ctx.step("Wait for the guest to stop"):
        _wait_for_release(ctx)
    return "stopped"


@job_kind(INSIDE)
def updates_inside_a_step(ctx: JobContext) -> str:
    """Two quick updates inside one step, then silence while the step goes on."""
    with ctx.step("Copy"):
        time.sleep(2 * PROGRESS_INTERVAL)
        ctx.progress(40, "Copying: 40 %")  # the window has passed: written at once
        ctx.progress(45, "Copying: 45 %")  # a new window: coalesced
        _wait_for_release(ctx)
    return "copied"


def _start(kind: str) -> Job:
    with transaction.atomic():
        job = enqueue(kind, title=kind, targets=[Target("system", label="Panel")])
    RELEASE[job.pk] = threading.Event()
    return job


def _until(check, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _partial(client, job: Job) -> str:  # type: ignore[no-untyped-def]
    answer = client.get(reverse("jobs:progress", args=[job.code]), HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_page_shows_the_message_given_just_after_the_start_while_the_step_runs(
    worker, admin_client
) -> None:
    job = _start(SHUTDOWN)
    _until(lambda: job.steps.filter(status=StepStatus.RUNNING).exists())
    time.sleep(2 * PROGRESS_INTERVAL)  # the step has been running a while: nothing else writes
    job.refresh_from_db()
    assert (job.status, job.progress, job.message) == (
        JobStatus.RUNNING, 30, "Asking the guest to shut down"
    )  # fmt: skip
    html = _partial(admin_client, job)
    assert re.search(r'aria-valuenow="30"', html), html
    assert "Asking the guest to shut down" in html
    RELEASE[job.pk].set()
    job = wait_for_job(job)
    assert (job.status, job.progress, job.message) == (JobStatus.SUCCEEDED, 100, "stopped")


def test_an_update_coalesced_inside_a_step_is_written_when_its_window_ends(worker) -> None:
    job = _start(INSIDE)
    _until(lambda: Job.objects.filter(pk=job.pk, progress=40).exists())
    # 45 came in the same window as 40: the timer writes it at the window's end, although the
    # job reports nothing more and no step starts.
    _until(
        lambda: Job.objects.filter(pk=job.pk, progress=45).exists(), timeout=5 * PROGRESS_INTERVAL
    )
    job.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.RUNNING, "Copying: 45 %")
    assert job.steps.get().status == StepStatus.RUNNING
    RELEASE[job.pk].set()
    assert wait_for_job(job).status == JobStatus.SUCCEEDED


def test_the_last_update_before_a_failure_stays_on_the_row(transactional_db) -> None:
    """close() (the runner calls it however the handler ended) writes what is pending."""
    job = Job.objects.create(kind=SHUTDOWN, title="t", status=JobStatus.RUNNING)
    ctx = JobContext(job)
    ctx.progress(60, "Destroying it")  # inside the first window: pending, timer started
    ctx.close()
    job.refresh_from_db()
    assert (job.progress, job.message) == (60, "Destroying it")
    assert ctx._timer is None or not ctx._timer.is_alive()  # noqa: SLF001
    ctx.progress(70, "after close")  # a late call writes at once or not at all, never later
    time.sleep(2 * PROGRESS_INTERVAL)
    job.refresh_from_db()
    assert job.progress in (60, 70)


def test_writes_stay_coalesced(transactional_db) -> None:
    """Many updates in a burst cost a handful of writes, and the row ends at the last one."""
    from django.db import connection

    job = Job.objects.create(kind=SHUTDOWN, title="t", status=JobStatus.RUNNING)
    ctx = JobContext(job)
    writes: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if sql.startswith("UPDATE") and "jobs_job" in sql:
            writes.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.monotonic()
        for percent in range(100):
            ctx.progress(percent, f"at {percent}")
            time.sleep(0.005)
        elapsed = time.monotonic() - started
    _until(lambda: Job.objects.filter(pk=job.pk, progress=99).exists(), timeout=2)
    # The main thread's writes (the timer's are on its own connection, not counted here).
    assert len(writes) <= elapsed / PROGRESS_INTERVAL + 2, (len(writes), elapsed)
    ctx.close()
    job.refresh_from_db()
    assert (job.progress, job.message) == (99, "at 99")
