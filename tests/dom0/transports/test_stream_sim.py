"""SimTransport.stream (SimHost.popen) and relay() between two simulated hosts."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from dom0 import errors
from dom0.sim import SimHost, seed_host
from dom0.transport import SimTransport, TransportConfig
from dom0.transports.relay import RelayFailed, relay


def _sim(tmp_path: Path, name: str) -> tuple[SimHost, SimTransport]:
    host = seed_host(tmp_path / name, hostname=name)
    return host, SimTransport(TransportConfig(kind="sim", sim_dir=str(tmp_path / name)))


def test_it_streams_stdin_into_a_simulated_command(tmp_path: Path) -> None:
    _, sim = _sim(tmp_path, "xen1")
    cmd = sim.stream(["sha256", "-q"], timeout=10)
    cmd.stdin.write(b"abc")
    cmd.stdin.close()
    res = cmd.wait()
    assert res.ok, res.stderr
    assert hashlib.sha256(b"abc").hexdigest() in res.stdout


def test_it_maps_an_unreachable_host(tmp_path: Path) -> None:
    host, sim = _sim(tmp_path, "xen1")
    host.set_faults(unreachable=True)
    with pytest.raises(errors.HostUnreachable):
        sim.stream(["zfs", "list"], timeout=10)


def test_it_relays_zfs_send_into_zfs_recv(tmp_path: Path) -> None:
    host_a, a = _sim(tmp_path, "xen1")
    host_b, b = _sim(tmp_path, "xen2")
    assert a.run(["zfs", "create", "-V", "16M", "zroot/v1"], timeout=10).ok
    data = random.Random(14).randbytes(3 * 1024 * 1024)
    with open(host_a.local("/dev/zvol/zroot/v1"), "r+b") as node:
        node.write(data)
    assert a.run(["zfs", "snapshot", "zroot/v1@m1"], timeout=10).ok
    lines: list[tuple[str, str]] = []
    progress: list[int] = []
    result = relay(
        a.stream(["zfs", "send", "-v", "-P", "zroot/v1@m1"], timeout=30),
        b.stream(["zfs", "recv", "-s", "zroot/v1"], timeout=30),
        on_progress=progress.append,
        on_stderr=lambda side, line: lines.append((side, line)),
    )
    assert progress[-1] == result.bytes > len(data)
    assert ("source", f"size\t{result.bytes}") in lines  # the estimate is the exact size here
    assert host_b.local("/dev/zvol/zroot/v1").read_bytes()[: len(data)] == data

    # Again: the destination now exists, so zfs recv refuses and the relay names the sink.
    with pytest.raises(RelayFailed) as caught:
        relay(
            a.stream(["zfs", "send", "zroot/v1@m1"], timeout=30),
            b.stream(["zfs", "recv", "-s", "zroot/v1"], timeout=30),
        )
    assert caught.value.side == "sink"
    assert "destination 'zroot/v1' exists" in str(caught.value)
