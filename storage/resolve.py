"""Name resolution on the panel's side (validate.resolve_and_check stays pure and takes this)."""

from __future__ import annotations

import socket


def resolve_host(name: str) -> list[str]:
    """Return the addresses `name` resolves to on the panel's side (empty if it does not)."""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return []
    return sorted({str(info[4][0]) for info in infos})
