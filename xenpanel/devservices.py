"""Real services for the test suite and the benchmarks: Redis on a free port, a Celery worker.

This module serves `tests/` (session fixtures) and `bench/` (scripts run by hand). It is not used
by the panel at runtime: nothing in the apps, settings, URLs or Celery tasks imports it.

It depends on the standard library, celery and redis only (no pytest, no Django at import time),
so a benchmark can start a throwaway Redis before Django is set up.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import redis

if TYPE_CHECKING:
    from celery import Celery
    from celery.contrib.testing.worker import TestWorkController

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The port is only free when asked; a service started on it soon after gets it in practice.
    """
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int,
    *,
    timeout: float = 10.0,
    process: subprocess.Popen[bytes] | None = None,
    host: str = LOOPBACK,
) -> None:
    """Return once `host:port` accepts a TCP connection; raise RuntimeError after `timeout`.

    With `process`, give up as soon as that process has exited (it will never listen).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(
                    f"process {process.pid} exited ({process.returncode}) before "
                    f"listening on {host}:{port}"
                ) from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


@dataclass
class RedisServer:
    """A private redis-server process listening on 127.0.0.1:`port`."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The URL of its database 0."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_redis(workdir: Path, *, timeout: float = 10.0, port: int | None = None) -> RedisServer:
    """Start redis-server on a free loopback port (or `port`: a restart), with no persistence.

    Returns once it answers PING; raises RuntimeError if redis-server is missing or does not
    answer within `timeout` seconds.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; run scripts/system-packages.sh test")
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = RedisServer(port, process)
    client = redis.Redis(host=LOOPBACK, port=port, socket_connect_timeout=0.2, socket_timeout=1)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if client.ping():
                    return server
            except redis.RedisError:
                time.sleep(0.05)
    finally:
        client.close()
    process.kill()
    process.wait()
    raise RuntimeError(f"redis-server did not answer on port {port} within {timeout}s")


@contextmanager
def worker_in_thread(
    app: Celery,
    queues: Sequence[str],
    *,
    concurrency: int = 2,
    pool: str = "threads",
    shutdown_timeout: float = 20.0,
) -> Iterator[TestWorkController]:
    """Run a real Celery worker for `app` in a thread of this process, consuming `queues`.

    The app's broker must already point at a running Redis (see `start_redis`). The worker is
    stopped when the block ends. Tests use it so that jobs go through Redis as in production.
    """
    from celery.contrib.testing.worker import start_worker

    with start_worker(
        app,
        pool=pool,
        concurrency=concurrency,
        queues=list(queues),
        perform_ping_check=False,
        shutdown_timeout=shutdown_timeout,
    ) as worker:
        yield worker


def start_worker_process(
    python: str,
    *,
    queues: Sequence[str],
    threads: int,
    name: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    loglevel: str = "warning",
) -> subprocess.Popen[bytes]:
    """Start `celery -A xenpanel worker` (threads pool) as a separate process; return it.

    `python` is the interpreter of the project's virtualenv; `env` the worker's environment
    (settings module, Redis URL ...). The caller stops it with terminate() and wait().
    """
    argv = [python, "-m", "celery", "-A", "xenpanel", "worker", "-Q", ",".join(queues),
            "-P", "threads", "-c", str(threads), "-n", name, "-l", loglevel]  # fmt: skip
    return subprocess.Popen(argv, cwd=cwd, env=dict(os.environ if env is None else env))
