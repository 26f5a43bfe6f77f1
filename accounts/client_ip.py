"""The address a request came from, seen through the reverse proxies we trust.

Behind nginx every request arrives from 127.0.0.1; lockouts (django-axes) and the audit list
need the browser's address instead. X-Forwarded-For is read only when the direct peer is a
trusted proxy (XENPANEL_TRUSTED_PROXIES), from the right, skipping trusted hops: a client can
put anything at the left of that header, but not past the proxy that appended its address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """Return the client's address, or None if there is no valid one."""
    peer = _ip(request.META.get("REMOTE_ADDR", ""))
    trusted = set(settings.TRUSTED_PROXIES)
    if peer is None or peer not in trusted:
        return peer
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            return peer  # a garbled header: trust only what we saw ourselves
        if address not in trusted:
            return address
    return peer


def axes_username(request: HttpRequest, credentials: dict[str, object] | None = None) -> str:
    """Return the user name a sign-in attempt typed, as django-axes records it.

    Cut to the longest name an account can have (150): axes keeps it in a 255-character column,
    and a longer one was a server error on PostgreSQL.
    """
    name = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(name)[:150]
