"""The real console proxy (`python -m domains.console.serve`) as a process the tests own."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.services import free_port

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
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the console proxy did not start:\n{log.read_text()}") from None
            time.sleep(0.05)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
