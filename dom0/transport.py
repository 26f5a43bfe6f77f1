"""How the panel reaches a Dom0: one interface, three transports (local, SSH, simulator).

Import everything from here; the implementations live in `dom0.transports`.
"""

from __future__ import annotations

from dom0 import errors
from dom0.transports.base import (
    CANCELLED_RC,
    FileStat,
    ProgressCallback,
    Result,
    RunningCommand,
    Transport,
    TransportConfig,
)
from dom0.transports.hostkeys import (
    HostKeyInfo,
    fetch_host_key,
    fingerprint_sha256,
    host_key_info,
    parse_pinned_key,
)
from dom0.transports.local import LocalTransport
from dom0.transports.simulated import SimTransport
from dom0.transports.ssh import SSHTransport

__all__ = [
    "CANCELLED_RC",
    "FileStat",
    "HostKeyInfo",
    "LocalTransport",
    "ProgressCallback",
    "Result",
    "RunningCommand",
    "SSHTransport",
    "SimTransport",
    "Transport",
    "TransportConfig",
    "fetch_host_key",
    "fingerprint_sha256",
    "host_key_info",
    "make_transport",
    "parse_pinned_key",
]

_KINDS: dict[str, type[LocalTransport] | type[SSHTransport] | type[SimTransport]] = {
    "local": LocalTransport,
    "ssh": SSHTransport,
    "sim": SimTransport,
}


def make_transport(cfg: TransportConfig) -> Transport:
    """Return the transport for cfg.kind ("sim", "local" or "ssh"); nothing connects yet."""
    try:
        cls = _KINDS[cfg.kind]
    except KeyError:
        raise errors.ValidationError(
            "kind", f"must be one of {', '.join(sorted(_KINDS))}", cfg.kind
        ) from None
    return cls(cfg)
