"""Simulated hosts with running domUs (written straight into the simulator's state) and their
Domain rows, for the sampling tests."""

from __future__ import annotations

import time
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
