"""The simulator's VNC servers: started by `xl create`, gone after destroy, shutdown and reboot.

These use the built-in RFB server (qemu=False) so they run the same with or without QEMU.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from pathlib import Path

import pytest

from dom0.sim import SimHost, seed_host
from dom0.sim.vncauth import vnc_response
from tests.domains.console.clients import _recv_exact, keys_seen, read_banner, rfb_handshake_none

CFG = """name = "{name}"
type = "hvm"
memory = 256
vcpus = 1
vnc = 1
vncunused = {unused}
vncdisplay = {display}
vncpasswd = "{passwd}"
disk = ["/dev/zvol/zroot/xen/legacy0,raw,hda,rw"]
"""


@pytest.fixture
def sim(tmp_path: Path) -> SimHost:
    host = seed_host(tmp_path / "xen1", vnc_servers=True)
    host.set_vnc_servers(True, qemu=False)
    return host


def create(sim: SimHost, name: str, *, passwd: str = "", display: int = 0, unused: int = 1):  # type: ignore[no-untyped-def]
    path = f"/usr/local/etc/xen/{name}.cfg"
    sim.path(path).write_text(
        CFG.format(name=name, passwd=passwd, display=display, unused=unused), "utf-8"
    )
    return sim.run(["xl", "create", path])


def record(sim: SimHost, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((sim.state_dir / "state.json").read_text())["domains"][name]


def alive(pid: int) -> bool:
    """A zombie counts as gone: this machine's PID 1 does not reap orphans, init(8) does."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _no_leftovers(sim: SimHost):  # type: ignore[no-untyped-def]
    yield
    sim.reboot()  # stops every server this test left running


def test_it_serves_rfb_on_the_allocated_port_and_stops_on_destroy(sim: SimHost) -> None:
    assert create(sim, "web1").rc == 0
    port = sim.vnc_port("web1")
    assert port is not None and port >= 5900
    assert read_banner(port) == b"RFB 003.008\n"
    pid = record(sim, "web1")["vnc_pid"]
    assert alive(pid)

    assert sim.run(["xl", "destroy", "web1"]).rc == 0
    assert not port_open(port)
    assert not alive(pid)


def test_it_runs_no_server_unless_switched_on(tmp_path: Path) -> None:
    plain = seed_host(tmp_path / "plain")
    assert create(plain, "quiet").rc == 0
    assert "vnc_pid" not in record(plain, "quiet")
    assert plain.run(["xl", "destroy", "quiet"]).rc == 0


def test_it_asks_for_the_vnc_password_and_refuses_a_wrong_one(sim: SimHost) -> None:
    assert create(sim, "secure", passwd="s3cret").rc == 0
    port = sim.vnc_port("secure")
    assert port is not None

    def attempt(password: str) -> int:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            assert _recv_exact(sock, 12) == b"RFB 003.008\n"
            sock.sendall(b"RFB 003.008\n")
            assert _recv_exact(sock, 2) == b"\x01\x02"  # one type offered: VNC authentication
            sock.sendall(b"\x02")
            challenge = _recv_exact(sock, 16)
            sock.sendall(vnc_response(password, challenge))
            return int(struct.unpack(">I", _recv_exact(sock, 4))[0])

    assert attempt("wrong") == 1
    assert attempt("s3cret") == 0


def test_it_shows_the_domu_and_records_what_is_typed(sim: SimHost) -> None:
    assert create(sim, "typist").rc == 0
    port = sim.vnc_port("typist")
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        name = rfb_handshake_none(lambda n: _recv_exact(sock, n), sock.sendall)
        assert name.startswith("typist")
        for keysym in (0xFFE1, ord("H"), ord("i")):  # Shift down, H, i
            sock.sendall(struct.pack(">BBxxI", 4, 1, keysym))
        sock.sendall(struct.pack(">BBxxI", 4, 1, 0xFF0D))
        sock.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, 720, 400))  # a full update
        header = _recv_exact(sock, 4 + 12)
        assert header[0] == 0 and struct.unpack(">HHHH", header[4:12]) == (0, 0, 720, 400)
        pixels = _recv_exact(sock, 720 * 400 * 4)
        assert len(set(pixels[i : i + 4] for i in range(0, len(pixels), 4))) > 2
    assert keys_seen(sim.state_dir, "typist", lambda keys: keys["typed"] == "Hi\n")


def test_it_fails_xl_create_when_the_fixed_port_is_taken(sim: SimHost) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        display = squatter.getsockname()[1] - 5900
        result = create(sim, "clash", display=display, unused=0)
    assert result.rc == 3
    assert "device model did not start" in result.stderr
    assert "clash" not in sim.run(["xl", "list"]).stdout


def test_it_moves_to_the_next_free_port_with_vncunused(sim: SimHost) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        taken = squatter.getsockname()[1]
        assert create(sim, "mover", display=taken - 5900).rc == 0
        port = sim.vnc_port("mover")
    assert port is not None and port > taken
    assert read_banner(port) == b"RFB 003.008\n"


def test_it_stops_the_server_on_shutdown_and_on_dom0_reboot(sim: SimHost) -> None:
    assert create(sim, "one").rc == 0
    assert create(sim, "two").rc == 0
    one, two = record(sim, "one")["vnc_pid"], record(sim, "two")["vnc_pid"]
    assert sim.run(["xl", "shutdown", "-F", "one"]).rc == 0
    assert not alive(one) and alive(two)
    sim.reboot()
    assert not alive(two)


def test_it_exits_by_itself_when_the_domu_leaves_the_state(sim: SimHost) -> None:
    assert create(sim, "orphan").rc == 0
    pid = record(sim, "orphan")["vnc_pid"]
    with sim.store.edit() as state:  # as if the state were reset behind the server's back
        del state["domains"]["orphan"]
    deadline = time.monotonic() + 4
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)


def test_it_keeps_the_simulator_free_of_panel_imports() -> None:
    root = Path(__file__).resolve().parents[3] / "dom0" / "sim"
    for name in ("vnc.py", "vncserver.py", "rfb.py", "vncauth.py", "vncscreen.py"):
        text = (root / name).read_text()
        assert "django" not in text and "from hosts" not in text.replace("from dom0.sim", "")
    assert os.path.exists(root / "vncserver.py")
