"""Jobs end to end: a view creates the row, Redis carries it, a real worker runs it."""

from __future__ import annotations

import re
import time

import pytest
from django.db import transaction
from django.urls import reverse

from jobs.choices import JobStatus
from jobs.enqueue import Target, enqueue
from jobs.models import Job
from tests.jobs import kinds  # noqa: F401  (registers test.sleep)
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def _sleep_job(target: str, seconds: float = 0.6) -> Job:
    with transaction.atomic():
        return enqueue(
            "test.sleep",
            title=f"sleep on {target}",
            targets=[Target("system", lock=target, label=target)],
            params={"seconds": seconds},
        )


def test_it_runs_a_job_created_by_a_view_and_reports_progress_through_the_partial(
    worker, admin_client
):
    response = admin_client.post(reverse("jobs:system_check"))
    assert response.status_code == 302
    job = Job.objects.get()
    assert response.url == job.get_absolute_url()

    seen_progress = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        partial = admin_client.get(
            reverse("jobs:progress", args=[job.code]), HTTP_HX_REQUEST="true"
        )
        html = partial.content.decode()
        seen_progress.append(int(re.search(r'aria-valuenow="(\d+)"', html).group(1)))
        if 'data-status="succeeded"' in html:
            break
        assert partial.status_code == 200
        assert 'hx-trigger="load delay:1s"' in html  # still polling while it runs
        time.sleep(0.05)
    else:
        pytest.fail("job did not finish")

    assert seen_progress[-1] == 100
    assert seen_progress == sorted(seen_progress)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert [s.label for s in job.steps.all()] == ["Worker", "Database", "Redis"]
    assert "PING -> True" in job.steps.get(label="Redis").output


def test_it_sends_no_polling_trigger_once_the_job_has_ended(worker, admin_client):
    job = wait_for_job(_sleep_job("system:a", 0.05))
    assert job.status == JobStatus.SUCCEEDED
    partial = admin_client.get(reverse("jobs:progress", args=[job.code]), HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert partial.status_code == 286  # htmx: stop polling
    assert "hx-trigger" not in html and "hx-get" not in html
    page = admin_client.get(job.get_absolute_url()).content.decode()
    assert "hx-trigger" not in page.split('id="job-progress"')[1].split(">")[0]


def test_it_never_runs_two_jobs_on_one_target_at_once(worker):
    first, second = _sleep_job("system:same"), _sleep_job("system:same")
    other = _sleep_job("system:other")
    for job in (first, second, other):
        wait_for_job(job, timeout=30)
    a, b, c = (j.result for j in (first, second, other))
    # Same target: one after the other. Different target: alongside (the worker runs 2 at once).
    assert a["finished"] <= b["started"] or b["finished"] <= a["started"]
    assert c["started"] < max(a["finished"], b["finished"])
    assert all(j.status == JobStatus.SUCCEEDED for j in (first, second, other))


def test_it_cancels_a_running_job(worker, admin_client):
    job = _sleep_job("system:cancel", seconds=20)
    wait_for_job(job, until_active=True)
    admin_client.post(reverse("jobs:cancel", args=[job.code]))
    job = wait_for_job(job, timeout=10)
    assert job.status == JobStatus.CANCELLED
