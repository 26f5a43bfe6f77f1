"""Faults, for real: a worker process killed, Redis stopped or restarted, while jobs run.

These tests stop and start the session's Redis, so they run in a pytest session of their own
(`make test` runs `pytest -m faults` after the rest). Each starts Celery workers as separate
processes (`celery -A xenpanel worker`, as deployed) on the same database and Redis, with a
short lease so that a dead worker is noticed in seconds; the reaper is `outbox.reap_and_send`,
called here as beat would call it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from jobs import outbox
from jobs.choices import JobStatus
from jobs.enqueue import Target, enqueue
from jobs.models import Job
from jobs.runner import lapsed
from xenpanel.devservices import RedisServer, start_redis, start_worker_process

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
LEASE, HEARTBEAT = 4, 1
QUEUE = "xenpanel"


@pytest.fixture
def lease(settings) -> None:  # type: ignore[no-untyped-def]
    settings.JOB_LEASE_SECONDS, settings.JOB_HEARTBEAT_SECONDS = LEASE, HEARTBEAT


def _database_url() -> str:
    """Return the test database as an XENPANEL_DATABASE_URL (SQLite file or PostgreSQL)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return (
        f"postgresql://{db['USER']}:{db.get('PASSWORD', '')}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )


class Workers:
    """Celery worker processes on the test database and Redis (what a supervisor would run)."""

    def __init__(self, redis_url: str, var_dir: Path) -> None:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "xenpanel.settings",
            "XENPANEL_DATABASE_URL": _database_url(),
            "XENPANEL_REDIS_URL": redis_url,
            "XENPANEL_VAR_DIR": str(var_dir),
            "XENPANEL_JOB_LEASE_SECONDS": str(LEASE),
            "XENPANEL_JOB_HEARTBEAT_SECONDS": str(HEARTBEAT),
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        name = f"fault{len(self.processes)}@%h"
        proc = start_worker_process(
            sys.executable,
            queues=[QUEUE],
            threads=2,
            name=name,
            cwd=ROOT,
            env=self.env,
            loglevel=os.environ.get("FAULT_LOGLEVEL", "warning"),
        )
        self.processes.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(redis_server: RedisServer, _point_at_redis: str, tmp_path: Path, lease: None):  # type: ignore[no-untyped-def]
    pool = Workers(redis_server.url, tmp_path)
    yield pool
    pool.stop_all()


def _until(
    check: Callable[[], bool], timeout: float, what: str | Callable[[], str], *, sweep: bool = False
) -> None:
    """Poll `check` until true (calling the reaper each round, as beat would, if `sweep`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sweep:
            outbox.reap_and_send()
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what() if callable(what) else what}")


def _slow_job(lock: str, seconds: float = 6.0) -> Job:
    steps = int(seconds / 0.25)
    with transaction.atomic():
        return enqueue(
            "system.check",
            title=f"Slow check {lock}",
            targets=[Target("system", lock=lock, label=lock)],
            params={"steps": steps, "pause": 0.25},
        )


def _fresh(job: Job) -> Job:
    job.refresh_from_db()
    return job


def test_it_resumes_a_job_whose_whole_worker_was_killed_and_runs_the_one_behind_it(workers):
    lock = f"fault:{uuid.uuid4().hex[:8]}"
    first = workers.start()
    job = _slow_job(lock)
    _until(lambda: _fresh(job).status == JobStatus.RUNNING and job.progress > 0, 60, "job runs")
    behind = _slow_job(lock, seconds=0.5)  # a Destroy queued behind it, on the same target
    os.kill(first.pid, signal.SIGKILL)  # the worker's main process, not a pool child
    first.wait(timeout=10)
    killed_at = time.monotonic()
    workers.start()
    _until(lambda: not _fresh(job).is_active, 60, "the job ends after its worker died", sweep=True)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempt == 2  # resumed once, by the new worker
    # It left "running" within the lease (plus the time a worker needs to start), not hours.
    assert time.monotonic() - killed_at < 60
    _until(
        lambda: not _fresh(behind).is_active,
        30,
        lambda: (
            f"the job behind it runs: {behind.status}, {behind.message!r}, sent "
            f"{behind.sent_at}, seen {behind.heartbeat_at}, {outbox.reap_and_send()}"
        ),
        sweep=True,
    )
    assert behind.status == JobStatus.SUCCEEDED, behind.error


def test_it_cancels_at_once_a_job_whose_worker_is_gone(workers, admin_client):
    lock = f"fault:{uuid.uuid4().hex[:8]}"
    worker = workers.start()
    job = _slow_job(lock)
    _until(lambda: _fresh(job).status == JobStatus.RUNNING, 60, "job runs")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    _until(lambda: lapsed(_fresh(job)), LEASE + 5, "the lease lapses")
    admin_client.post(reverse("jobs:cancel", args=[job.code]))
    assert _fresh(job).status == JobStatus.CANCELLED


def test_it_accepts_a_click_while_redis_is_down_and_runs_it_when_it_is_back(
    workers, admin_client, redis_server: RedisServer, tmp_path
):
    worker = workers.start()
    redis_server.stop()
    try:
        response = admin_client.post(reverse("jobs:system_check"))
        assert response.status_code == 302
        job = Job.objects.get(kind="system.check")
        assert job.status == JobStatus.QUEUED and job.sent_at is None
        assert job.message == outbox.UNSENT
        page = admin_client.get(job.get_absolute_url())
        assert page.status_code == 200 and "job broker did not answer" in page.content.decode()
    finally:
        restarted = start_redis(tmp_path, port=redis_server.port)
        redis_server.process = restarted.process
    if worker.poll() is not None:  # as the demo's supervisor or systemd would
        workers.start()
    _until(lambda: not _fresh(job).is_active, 60, "the job runs once Redis is back", sweep=True)
    assert job.status == JobStatus.SUCCEEDED, job.error


def test_it_finishes_a_job_when_redis_restarts_under_it(workers, redis_server, tmp_path):
    lock = f"fault:{uuid.uuid4().hex[:8]}"
    worker = workers.start()
    job = _slow_job(lock, seconds=5)
    _until(lambda: _fresh(job).status == JobStatus.RUNNING and job.progress > 0, 60, "job runs")
    redis_server.stop()
    time.sleep(1)  # Redis stays down for a while, as in a real restart
    redis_server.process = start_redis(tmp_path, port=redis_server.port).process
    survived = worker.poll() is None
    if not survived:
        workers.start()
    _until(lambda: not _fresh(job).is_active, 90, "the job ends", sweep=True)
    assert job.status == JobStatus.SUCCEEDED, job.error
    print(f"Redis restart: the worker {'survived' if survived else 'exited and was restarted'}")


def test_it_runs_a_doubly_sent_job_once(workers):
    lock = f"fault:{uuid.uuid4().hex[:8]}"
    workers.start()
    workers.start()
    job = _slow_job(lock, seconds=1)
    outbox.send(job.pk, QUEUE)  # a second message, as a redelivery or a sweep would send
    outbox.send(job.pk, QUEUE)
    _until(lambda: not _fresh(job).is_active, 60, "job ends")
    assert job.status == JobStatus.SUCCEEDED and job.attempt == 1
    ticks = [s for s in job.steps.all() if s.label == "Worker"]
    assert len(ticks) == 1  # one run did the work
