"""Run the console proxy: websockify with the single-use ticket plugin.

    .venv/bin/python -m domains.console.serve [--listen 127.0.0.1:6080] [--redis-url URL]

Defaults come from Django settings (CONSOLE_LISTEN, REDIS_URL). In production it listens on
127.0.0.1 behind the panel's reverse proxy at /websockify (same origin, TLS there).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def _settings() -> tuple[str, str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xenpanel.settings")
    import django
    from django.conf import settings

    django.setup()
    return str(settings.CONSOLE_LISTEN), str(settings.REDIS_URL)


def split_listen(value: str) -> tuple[str, int]:
    """Return (host, port) from "host:port" (IPv6 as "[::1]:6080")."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address must be host:port, not {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="domains.console.serve", description=__doc__)
    parser.add_argument("--listen", help="host:port to listen on")
    parser.add_argument("--redis-url", help="Redis holding the tickets")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    listen, redis_url = (args.listen, args.redis_url)
    if not (listen and redis_url):
        default_listen, default_redis = _settings()
        listen, redis_url = listen or default_listen, redis_url or default_redis
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from websockify.websocketproxy import WebSocketProxy

    from domains.console.proxy import TicketPlugin

    host, port = split_listen(listen)
    server = WebSocketProxy(
        listen_host=host,
        listen_port=port,
        token_plugin=TicketPlugin(redis_url),
        heartbeat=30,
        verbose=args.verbose,
    )
    server.start_server()
    return 0


if __name__ == "__main__":
    sys.exit(main())
