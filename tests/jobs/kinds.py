"""Job kinds used only by tests; registered into the same registry the worker thread reads."""

from __future__ import annotations

import time

from jobs.context import JobContext
from jobs.registry import job_kind


@job_kind("test.sleep")
def sleep_job(ctx: JobContext) -> str:
    started = time.time()
    seconds = float(ctx.job.params.get("seconds", 0.5))
    with ctx.step(f"Sleep {seconds}s"):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ctx.check_cancelled()
            time.sleep(0.02)
    ctx.result(started=started, finished=time.time())
    return "slept"
