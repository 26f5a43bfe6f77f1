"""SimTransport: how it maps the simulator's answers and failures onto the transport interface.

Most tests use a tiny stand-in simulator (same API as dom0.sim.SimHost) so that faults can be
forced exactly; the last test runs against the real simulator when it is importable.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from dom0 import errors
from dom0.sim import make_shims, seed_host
from dom0.sim.result import SimResult, SimUnreachable
from dom0.transport import CANCELLED_RC, SimTransport, TransportConfig, make_transport


class StandInSim:
    """Answers like SimHost: echo-ish commands, a root directory, switchable faults."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.unreachable = False
        self.release = threading.Event()
        self.seen_stdin: bytes | None = None

    def run(
        self, argv: list[str], stdin: bytes | None = None, timeout: float | None = None
    ) -> SimResult:
        if self.unreachable:
            raise SimUnreachable("fault: unreachable")
        self.seen_stdin = stdin
        if argv[0] == "block":
            self.release.wait(10)
            return SimResult(0, "released\n", "")
        if argv[0] == "latency":
            raise TimeoutError("latency exceeded the timeout")
        return SimResult(int(argv[1]) if argv[0] == "exit" else 0, " ".join(argv) + "\n", "")

    def path(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")


@pytest.fixture
def stand_in(tmp_path: Path) -> StandInSim:
    return StandInSim(tmp_path)


@pytest.fixture
def sim(stand_in: StandInSim, tmp_path: Path) -> SimTransport:
    t = SimTransport(TransportConfig(kind="sim", sim_dir=str(tmp_path)))
    t._sim = stand_in  # type: ignore[assignment]
    return t


def test_it_returns_the_simulators_answer(sim: SimTransport, stand_in: StandInSim) -> None:
    res = sim.run(["xl", "list"], timeout=5, stdin=b"in")
    assert (res.argv, res.rc, res.stdout) == (["xl", "list"], 0, "xl list\n")
    assert stand_in.seen_stdin == b"in"
    assert sim.run(["exit", "3"], timeout=5).rc == 3


def test_it_maps_an_unreachable_host(sim: SimTransport, stand_in: StandInSim) -> None:
    stand_in.unreachable = True
    with pytest.raises(errors.HostUnreachable):
        sim.run(["xl", "list"], timeout=5)


def test_it_maps_simulated_latency_to_a_timeout(sim: SimTransport) -> None:
    with pytest.raises(errors.CommandTimeout):
        sim.run(["latency"], timeout=5)


def test_it_stops_waiting_at_the_deadline(sim: SimTransport, stand_in: StandInSim) -> None:
    began = time.monotonic()
    with pytest.raises(errors.CommandTimeout):
        sim.run(["block"], timeout=0.2)
    assert time.monotonic() - began < 2
    stand_in.release.set()


def test_it_polls_and_cancels(sim: SimTransport, stand_in: StandInSim) -> None:
    cmd = sim.start(["block"], timeout=10)
    assert cmd.poll() is None
    assert cmd.cancel().rc == CANCELLED_RC
    stand_in.release.set()
    done = sim.start(["block"], timeout=10)
    assert done.wait().stdout == "released\n"


def test_it_does_file_operations_in_the_simulators_root(sim: SimTransport, tmp_path: Path) -> None:
    sim.makedirs("/usr/local/etc/xen")
    sim.write_file("/usr/local/etc/xen/vm1.cfg", b"name = 'vm1'\n")
    assert (tmp_path / "usr/local/etc/xen/vm1.cfg").read_bytes() == b"name = 'vm1'\n"
    assert sim.read_file("/usr/local/etc/xen/vm1.cfg") == b"name = 'vm1'\n"
    assert sim.stat("/usr/local/etc/xen").is_dir  # type: ignore[union-attr]
    sim.remove("/usr/local/etc/xen/vm1.cfg")
    assert sim.stat("/usr/local/etc/xen/vm1.cfg") is None
    with pytest.raises(errors.RemoteFileMissing):
        sim.read_file("/usr/local/etc/xen/vm1.cfg")


def test_it_needs_a_state_dir() -> None:
    with pytest.raises(errors.ValidationError):
        make_transport(TransportConfig(kind="sim"))


def test_it_talks_to_the_real_simulator(tmp_path: Path) -> None:
    host = seed_host(tmp_path / "host")
    with make_transport(TransportConfig(kind="sim", sim_dir=str(tmp_path / "host"))) as t:
        res = t.run(["xl", "list"], timeout=10)
        assert res.ok, res.stderr
        assert "Domain-0" in res.stdout
        t.makedirs("/tmp")
        t.write_file("/tmp/probe", b"x")
        assert host.path("/tmp/probe").read_bytes() == b"x"
        host.set_faults(unreachable=True)
        with pytest.raises(errors.HostUnreachable):
            t.run(["xl", "list"], timeout=10)
        with pytest.raises(errors.HostUnreachable):
            t.stat("/tmp/probe")


def test_it_reports_an_unseeded_simulator_as_unreachable(tmp_path: Path) -> None:
    with pytest.raises(errors.HostUnreachable):
        make_transport(TransportConfig(kind="sim", sim_dir=str(tmp_path))).run(["xl"], timeout=5)


def test_local_transport_reaches_the_simulator_through_shims(tmp_path: Path) -> None:
    host = seed_host(tmp_path / "host")
    shims = make_shims(tmp_path / "host", tmp_path / "shims")
    cfg = TransportConfig(kind="local", tool_dir=str(shims), fs_root=str(host.root))
    with make_transport(cfg) as t:
        res = t.run(["xl", "list"], timeout=30)
        assert res.ok, res.stderr
        assert "Domain-0" in res.stdout
