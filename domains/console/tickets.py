"""Single-use console tickets in Redis: made by the panel, consumed by the proxy.

A ticket is `secrets.token_urlsafe(32)` (256 random bits), stored as
`xenpanel:vnc:<ticket>` -> JSON {user_id, domain_code, host, port[, ssh]} for TICKET_SECONDS.
The ticket itself names its target, so the browser's URL carries nothing that could point it at
another domU, and GETDEL makes the first lookup the last.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

KEY_PREFIX = "xenpanel:vnc:"
TICKET_SECONDS = 30
_TICKET_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Target:
    """Where the proxy connects: host:port as seen from the proxy, or from the SSH hop."""

    host: str
    port: int
    #: For SSH hosts: the fields of dom0.transport.TransportConfig the tunnel needs
    #: (address, port, user, known_host_key, key_path, connect_timeout). No secrets.
    ssh: dict[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class Grant:
    """What a consumed ticket said."""

    user_id: int
    domain_code: str
    target: Target


def ticket_key(ticket: str) -> str:
    return KEY_PREFIX + ticket


def well_formed(ticket: str) -> bool:
    """Say whether a string could be one of our tickets (cheap refusal before Redis)."""
    return bool(_TICKET_RE.match(ticket or ""))


def issue(
    client: redis.Redis,
    *,
    user_id: int,
    domain_code: str,
    target: Target,
    seconds: int = TICKET_SECONDS,
) -> str:
    """Store a new ticket for this user, domU and target; return it."""
    value = json.dumps({"user_id": user_id, "domain_code": str(domain_code), **asdict(target)})
    while True:
        ticket = secrets.token_urlsafe(32)
        if client.set(ticket_key(ticket), value, ex=seconds, nx=True):
            return ticket


def consume(client: redis.Redis, ticket: str) -> Grant | None:
    """Return what the ticket grants and delete it (atomically); None if unknown or used."""
    if not well_formed(ticket):
        return None
    raw = client.getdel(ticket_key(ticket))
    if raw is None:
        return None
    data = json.loads(raw)
    target = Target(host=str(data["host"]), port=int(data["port"]), ssh=data.get("ssh"))
    return Grant(user_id=int(data["user_id"]), domain_code=str(data["domain_code"]), target=target)
