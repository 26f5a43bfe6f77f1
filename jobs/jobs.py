"""Jobs that touch no host: a check that the worker pipeline works end to end."""

from __future__ import annotations

import platform
import socket
import time

import celery
from django.db import connection

from jobs.context import JobContext
from jobs.redis import get_redis
from jobs.registry import job_kind


@job_kind("system.check")
def system_check(ctx: JobContext) -> str:
    """Prove that a worker picks up jobs, reaches the DB and Redis, and reports progress."""
    steps = int(ctx.job.params.get("steps", 3))
    pause = float(ctx.job.params.get("pause", 0.2))
    with ctx.step("Worker") as record:
        record.output = (
            f"host {socket.gethostname()}, Python {platform.python_version()}, "
            f"Celery {celery.__version__}"
        )
    with ctx.step("Database") as record:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        record.output = f"{connection.vendor} answers"
    with ctx.step("Redis") as record:
        record.output = f"PING -> {get_redis().ping()}"
    for i in range(steps):
        ctx.check_cancelled()
        time.sleep(pause)
        ctx.progress(100 * (i + 1) // (steps + 1), f"Tick {i + 1} of {steps}")
    return "Worker, database and Redis all answer"
