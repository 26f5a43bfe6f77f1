"""What the job benchmarks run on: a private Redis, a fresh SQLite database and real Celery worker
processes (threads pool), started as for the tests by `xenpanel/devservices.py`."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@contextmanager
def job_stack(
    name: str, *, concurrency: int, processes: int, postgres: bool = False
) -> Iterator[int]:
    """Start Redis (and with `postgres` a throwaway PostgreSQL instead of SQLite) and `processes`
    workers sharing `concurrency` threads; set Django up; yield the threads per process.
    Everything stops on exit."""
    work = Path(tempfile.mkdtemp(prefix=f"xenpanel-bench-{name}-"))
    from xenpanel.devservices import start_redis, start_worker_process

    redis = start_redis(work)
    database = None
    if postgres:
        from tests.support.postgres import start_postgres

        database = start_postgres(work)
        os.environ["XENPANEL_DATABASE_URL"] = database.url
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xenpanel.settings",
        "XENPANEL_VAR_DIR": str(work / "var"),
        "XENPANEL_REDIS_URL": redis.url,
        "XENPANEL_DEFAULT_QUEUE": "bench",
    }
    os.environ.update(env)
    py = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    # Host jobs mostly wait on the network: one worker process per core, threads inside.
    threads = max(1, math.ceil(concurrency / processes))
    workers = [
        start_worker_process(
            py, queues=["bench"], threads=threads, name=f"{name}{i}@%h", cwd=ROOT, env=env
        )
        for i in range(processes)
    ]
    try:
        import django

        django.setup()
        yield threads
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        redis.stop()
        if database is not None:
            database.stop()


@contextmanager
def web_server(work: Path, env: dict[str, str], *, threads: int = 8) -> Iterator[int]:
    """gunicorn as the Procfile runs it (gthread; one worker here) on a free loopback port,
    logging to `work/gunicorn.log`; yields the port and stops it on exit."""
    from xenpanel.devservices import free_port, wait_for_port

    port = free_port()
    with open(work / "gunicorn.log", "wb") as log:
        gunicorn = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "xenpanel.wsgi", "--bind", f"127.0.0.1:{port}",
             "--worker-class", "gthread", "--workers", "1", "--threads", str(threads)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for_port(port, timeout=30)
            yield port
        finally:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
