"""websockify token plugin: resolve AND consume a console ticket (GETDEL), return (host, port).

websockify's stock TokenRedis only reads tokens, so a token would work until it expired; this
plugin deletes it in the same Redis command that reads it. Use it with
`websockify --token-plugin domains.console.proxy.TicketPlugin --token-source <redis url> ...`
or through `python -m domains.console.serve`. websockify runs `lookup` in the process it forked
for the connection, so each lookup opens its own Redis connection (none is shared across fork)
and an SSH tunnel lives exactly as long as that connection.
"""

from __future__ import annotations

import logging

import redis
from websockify.token_plugins import BasePlugin

from domains.console import tickets

log = logging.getLogger("xenpanel.console")
audit = logging.getLogger("xenpanel.audit")


class TicketPlugin(BasePlugin):
    """The token source is the Redis URL the panel writes tickets to."""

    def __init__(self, src: str) -> None:
        super().__init__(src)
        self.redis_url = src

    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_timeout=5, socket_connect_timeout=5)

    def lookup(self, token: str) -> tuple[str, int] | None:
        """Return where this ticket leads, once; None for a forged, expired or used ticket."""
        client = self._client()
        try:
            grant = tickets.consume(client, token)
        finally:
            client.close()
        if grant is None:
            log.warning("console ticket refused (unknown, expired or already used)")
            return None
        target = grant.target
        where = f"{target.host}:{target.port}"
        if target.ssh:
            from dom0.errors import Dom0Error
            from domains.console.tunnel import open_forward

            try:
                forward = open_forward(target.ssh, target.host, target.port)
            except Dom0Error as exc:
                log.error(
                    "console tunnel to %s via %s failed: %s", where, target.ssh["address"], exc
                )
                return None
            audit.info(
                "console connect user=%s domain=%s target=%s via ssh %s@%s:%s",
                grant.user_id,
                grant.domain_code,
                where,
                target.ssh["user"],
                target.ssh["address"],
                target.ssh["port"],
            )
            return "127.0.0.1", forward.local_port
        audit.info(
            "console connect user=%s domain=%s target=%s", grant.user_id, grant.domain_code, where
        )
        return target.host, target.port
