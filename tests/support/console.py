"""The real console proxy (`python -m domains.console.serve`) as a process the tests own, and
console tickets made to expire on the spot."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from domains.console import tickets
from xenpanel.devservices import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def console_proxy_process(redis_url: str, log: Path) -> Iterator[int]:
    """Start the proxy on a free port against `redis_url`; yield the port; stop it after."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "domains.console.serve", "--listen", f"127.0.0.1:{port}",
             "--redis-url", redis_url],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_port(port, timeout=15, process=proc)
    except RuntimeError as exc:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the console proxy did not start ({exc}):\n{log.read_text()}") from None
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def expire_ticket(client: redis.Redis, ticket: str, timeout: float = 5.0) -> None:
    """Let `ticket` run out now, as its TTL would: Redis expires the key itself.

    The key's TTL is cut to 1 ms (PEXPIRE); this returns once Redis reports the key gone, so a
    test sees an expired ticket without sleeping through a TTL.
    """
    key = tickets.ticket_key(ticket)
    assert client.pttl(key) > 0, "the ticket has no TTL to run out"
    assert client.pexpire(key, 1)
    deadline = time.monotonic() + timeout
    while client.exists(key):
        assert time.monotonic() < deadline, f"Redis still has {key} after {timeout}s"
        time.sleep(0.001)
