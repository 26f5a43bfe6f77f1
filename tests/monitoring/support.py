"""Simulated hosts with running domUs (written straight into the simulator's state) and their
Domain rows, for the sampling tests; a local webhook receiver for the alert tests."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dom0.sim import SimHost
from domains.models import Domain
from hosts.models import Host
from hosts.simhosts import create_sim_host


def host_with_domus(name: str, tmp_path: Path, domus: list[str], owner: Any) -> Host:
    host = create_sim_host(name, state_dir=tmp_path / name, cpus=8)
    sim = SimHost(host.sim_dir)
    now = time.time()
    with sim.store.edit() as state:
        for i, domu in enumerate(domus, start=1):
            state["domains"][domu] = {
                "name": domu,
                "domid": i,
                "memory": 1024,
                "maxmem": 1024,
                "vcpus": 2,
                "disks": [{}],
                "nics": [{}],
                "paused": False,
                "run_since": now - 60,
                "cpu_acc": 0.0,
                "shutdown_reason": None,
                "created": now - 60,
                "vnc_port": None,
            }
    for domu in domus:
        Domain.objects.create(host=host, name=domu, owner=owner, memory_mb=1024)
    return host


class Receiver:
    """A webhook receiver on 127.0.0.1: keeps every JSON body POSTed to /hook (and every path
    asked for); /moved answers 302 to /hook, to show that redirects are not followed."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        received, paths = self.bodies, self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 — http.server's name
                length = int(self.headers.get("Content-Length", 0))
                data = self.rfile.read(length)
                paths.append(self.path)
                if self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", "/hook")
                    self.end_headers()
                    return
                received.append(json.loads(data))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.base}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.bodies
