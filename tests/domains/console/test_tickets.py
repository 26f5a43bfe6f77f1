"""Console tickets against a real Redis: random, single use, short lived, bound to a target."""

from __future__ import annotations

import pytest
import redis

from domains.console import tickets
from domains.console.tickets import Target
from tests.support.console import expire_ticket


@pytest.fixture
def client(_point_at_redis: str) -> redis.Redis:
    return redis.Redis.from_url(_point_at_redis)


def test_it_grants_the_target_once(client: redis.Redis) -> None:
    ticket = tickets.issue(client, user_id=7, domain_code="abc", target=Target("127.0.0.1", 5901))
    grant = tickets.consume(client, ticket)
    assert grant is not None
    assert (grant.user_id, grant.domain_code) == (7, "abc")
    assert (grant.target.host, grant.target.port, grant.target.ssh) == ("127.0.0.1", 5901, None)
    assert tickets.consume(client, ticket) is None


def test_it_makes_random_urlsafe_tickets_that_live_30_seconds(client: redis.Redis) -> None:
    made = {
        tickets.issue(client, user_id=1, domain_code="d", target=Target("h", 1)) for _ in range(20)
    }
    assert len(made) == 20
    for ticket in made:
        assert tickets.well_formed(ticket)
        assert 0 < client.ttl(tickets.ticket_key(ticket)) <= tickets.TICKET_SECONDS


def test_it_expires_unused_tickets(client: redis.Redis) -> None:
    ticket = tickets.issue(client, user_id=1, domain_code="d", target=Target("h", 1))
    expire_ticket(client, ticket)
    assert tickets.consume(client, ticket) is None


def test_it_refuses_forged_and_malformed_tickets_without_a_lookup(client: redis.Redis) -> None:
    # A key someone planted under our prefix is still refused when it is not ticket-shaped.
    client.set(tickets.KEY_PREFIX + "guess", '{"user_id":1,"domain_code":"x","host":"h","port":1}')
    assert tickets.consume(client, "guess") is None
    assert tickets.consume(client, "A" * 43) is None
    assert tickets.consume(client, "") is None
    assert tickets.consume(client, "../" + "a" * 40) is None


def test_it_keeps_the_ssh_hop_in_the_ticket(client: redis.Redis) -> None:
    hop = {
        "address": "dom0.example",
        "port": 22,
        "user": "root",
        "known_host_key": "ssh-ed25519 AAAA",
    }
    ticket = tickets.issue(
        client, user_id=1, domain_code="d", target=Target("127.0.0.1", 5900, hop)
    )
    grant = tickets.consume(client, ticket)
    assert grant is not None and grant.target.ssh == hop
