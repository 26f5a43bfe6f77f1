"""Talk to the console proxy directly: real websockify + our plugin, real Redis, real VNC servers.

A valid ticket carries the RFB banner through; the same ticket again, a forged one, or a ticket
someone tries to point at another domU gets nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from dom0.sim import SimHost, seed_host
from domains.console import tickets
from domains.console.tickets import Target
from tests.domains.console.clients import WebSocketClient, rfb_handshake_none
from tests.support.console import console_proxy_process, expire_ticket

ROOT = Path(__file__).resolve().parents[3]
CFG = 'name = "{name}"\ntype = "hvm"\nmemory = 256\nvcpus = 1\nvnc = 1\n'


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimHost]:
    host = seed_host(tmp_path_factory.mktemp("proxy-sim") / "xen1", vnc_servers=True)
    host.set_vnc_servers(True, qemu=False)
    for name in ("alpha", "beta"):
        host.path(f"/root/{name}.cfg").write_text(CFG.format(name=name), "utf-8")
        assert host.run(["xl", "create", f"/root/{name}.cfg"]).rc == 0
    yield host
    host.reboot()


@pytest.fixture(scope="module")
def proxy(_point_at_redis: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    log = tmp_path_factory.mktemp("proxy") / "proxy.log"
    with console_proxy_process(_point_at_redis, log) as port:
        yield port


@pytest.fixture
def client(_point_at_redis: str) -> redis.Redis:
    return redis.Redis.from_url(_point_at_redis)


def ticket_for(client: redis.Redis, sim: SimHost, name: str) -> str:
    port = sim.vnc_port(name)
    assert port is not None
    return tickets.issue(client, user_id=1, domain_code=name, target=Target("127.0.0.1", port))


def desktop_through(proxy: int, path: str) -> str:
    ws = WebSocketClient("127.0.0.1", proxy, path)
    try:
        return rfb_handshake_none(ws.recv_bytes, ws.send_bytes)
    finally:
        ws.close()


def refused(proxy: int, path: str) -> bool:
    try:
        ws = WebSocketClient("127.0.0.1", proxy, path)
    except (ConnectionError, OSError):
        return True
    try:
        ws.recv_bytes(12)
    except (ConnectionError, OSError):
        return True
    finally:
        ws.close()
    return False


def test_it_carries_rfb_for_a_valid_ticket(proxy: int, sim: SimHost, client: redis.Redis) -> None:
    ticket = ticket_for(client, sim, "alpha")
    ws = WebSocketClient("127.0.0.1", proxy, f"/?token={ticket}")
    try:
        assert ws.recv_bytes(12) == b"RFB 003.008\n"
    finally:
        ws.close()


def test_it_refuses_the_same_ticket_twice(proxy: int, sim: SimHost, client: redis.Redis) -> None:
    ticket = ticket_for(client, sim, "alpha")
    assert desktop_through(proxy, f"/?token={ticket}").startswith("alpha")
    assert refused(proxy, f"/?token={ticket}")


def test_it_refuses_forged_and_missing_tickets(
    proxy: int, sim: SimHost, client: redis.Redis
) -> None:
    ticket_for(client, sim, "alpha")  # a live ticket exists; guessing still gets nothing
    assert refused(proxy, "/?token=" + "x" * 43)
    assert refused(proxy, "/?token=alpha")
    assert refused(proxy, "/")


def test_it_cannot_be_redirected_to_another_domu(
    proxy: int, sim: SimHost, client: redis.Redis
) -> None:
    ticket = ticket_for(client, sim, "alpha")
    beta = sim.vnc_port("beta")
    # Whatever else the URL says, the ticket alone decides where the connection goes.
    path = f"/beta?token={ticket}&host=127.0.0.1&port={beta}&target=127.0.0.1:{beta}"
    assert desktop_through(proxy, path).startswith("alpha")


def test_it_refuses_an_expired_ticket(proxy: int, sim: SimHost, client: redis.Redis) -> None:
    ticket = ticket_for(client, sim, "beta")
    expire_ticket(client, ticket)
    assert refused(proxy, f"/?token={ticket}")


@pytest.mark.slow
def test_it_reaches_a_loopback_vnc_port_through_an_ssh_tunnel(
    proxy: int,
    sim: SimHost,
    client: redis.Redis,
    sshd,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    hop = {
        "address": "127.0.0.1",
        "port": sshd.port,
        "user": sshd.user,
        "known_host_key": sshd.host_key_line,
        "key_path": sshd.client_key_path,
        "connect_timeout": 10,
    }
    port = sim.vnc_port("beta")
    assert port is not None
    ticket = tickets.issue(
        client, user_id=1, domain_code="beta", target=Target("127.0.0.1", port, hop)
    )
    assert desktop_through(proxy, f"/?token={ticket}").startswith("beta")


def test_it_refuses_a_tunnel_to_a_host_whose_key_does_not_match(
    proxy: int,
    sim: SimHost,
    client: redis.Redis,
    sshd,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from tests.support.sshd import make_key

    other = make_key(tmp_path / "other_host_key")
    hop = {
        "address": "127.0.0.1",
        "port": sshd.port,
        "user": sshd.user,
        "known_host_key": other,
        "key_path": sshd.client_key_path,
        "connect_timeout": 5,
    }
    port = sim.vnc_port("beta")
    assert port is not None
    ticket = tickets.issue(
        client, user_id=1, domain_code="beta", target=Target("127.0.0.1", port, hop)
    )
    assert refused(proxy, f"/?token={ticket}")
