"""Waiting for jobs that a real worker runs."""

from __future__ import annotations

import time

from jobs.models import Job


def wait_for_job(job: Job, timeout: float = 30.0, *, until_active: bool = False) -> Job:
    """Poll the DB until the job ends (or, with until_active, until it starts running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if until_active and job.status == "running":
            return job
        if not until_active and not job.is_active:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job #{job.pk} still {job.status} after {timeout}s: {job.message}")
