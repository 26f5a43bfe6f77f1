"""Where the console proxy must connect for a domU, and how (direct or through SSH)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domains.console.tickets import Target
from hosts.choices import Transport

if TYPE_CHECKING:
    from domains.models import Domain

_ANY = ("", "0.0.0.0", "::", "localhost")  # noqa: S104 (a listen address we read, not bind)


class NoConsole(Exception):
    """The domU has no console to open right now (a message a person can act on)."""


def console_target(domain: Domain) -> Target:
    """Return the proxy's target for a running domU with VNC; NoConsole otherwise.

    Sim and local hosts: the VNC server is on this machine (or the panel runs on the Dom0), so
    the proxy connects directly. SSH hosts: through the panel's SSH connection (tunnel.py), to
    the address QEMU listens on as seen from the Dom0 itself.
    """
    if not domain.vnc_enabled:
        raise NoConsole(f"{domain.name} has no VNC console (vnc = 0 in its config).")
    if domain.vnc_port is None:
        raise NoConsole(f"{domain.name} has no fixed VNC display; edit it to assign one.")
    if domain.domid is None or not domain.is_present:
        raise NoConsole(f"{domain.name} is not running; start it to open its console.")
    host = domain.host
    listen = domain.vnc_listen or host.vnc_listen
    inside = "127.0.0.1" if listen in _ANY else listen
    if host.transport == Transport.SSH:
        from domains.console.tunnel import ssh_spec
        from hosts.connect import config_for

        return Target(inside, domain.vnc_port, ssh=ssh_spec(config_for(host)))
    return Target(inside, domain.vnc_port)
