"""How to reach a domU's VNC console: address, port, links and the commands to paste."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domains.models import Domain

WILDCARD = "0.0.0.0"  # noqa: S104 (we are reading a listen address, not binding one)
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class VncDetails:
    address: str
    port: int
    url: str
    viewer: str
    tunnel: str
    tunnel_viewer: str
    loopback_only: bool


def details(
    *,
    listen: str,
    display: int | None,
    host_address: str,
    ssh_user: str = "root",
    ssh_port: int = 22,
) -> VncDetails | None:
    """Return the connection details, or None when the port is not fixed (no display)."""
    if display is None:
        return None
    port = 5900 + display
    address = host_address if listen == WILDCARD else listen
    # Through SSH the VNC server is reached from the host itself: its loopback unless it
    # listens on one address only.
    inside = LOOPBACK if listen in (WILDCARD, LOOPBACK) else listen
    ssh = f"ssh -N -L {port}:{inside}:{port} "
    if ssh_port != 22:
        ssh += f"-p {ssh_port} "
    ssh += f"{ssh_user}@{host_address}"
    return VncDetails(
        address=address,
        port=port,
        url=f"vnc://{address}:{port}",
        viewer=f"vncviewer {address}::{port}",
        tunnel=ssh,
        tunnel_viewer=f"vncviewer localhost::{port}",
        loopback_only=listen.startswith("127."),
    )


def details_for(domain: Domain) -> VncDetails | None:
    """Return the connection details of `domain`, or None when its VNC console is off."""
    if not domain.vnc_enabled:
        return None
    host = domain.host
    return details(
        listen=domain.vnc_listen,
        display=domain.vnc_display,
        host_address=host.address or host.name,
        ssh_user=host.ssh_user,
        ssh_port=host.ssh_port,
    )
