"""Who may make a domU's VNC listen beyond the Dom0's loopback (issue 18, item 1).

VNC authentication is at most 8 characters of DES-keyed challenge: a console listening on a
reachable address is one guessable password away from a keyboard on the domU. So a listen
address other than loopback is taken only from an admin, and only on a host whose admin has
allowed it (`Host.vnc_exposure_allowed`); everyone else keeps the SSH tunnel (the console page
and the VNC card say how). Every path that sets `vnclisten` asks `refusal()` here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from accounts import access

if TYPE_CHECKING:
    from hosts.models import Host

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(listen: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; False for anything else (0.0.0.0 included)."""
    text = (listen or "").strip().lower()
    if text in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def refusal(listen: str, *, user: Any, host: Host, kept: Iterable[str] = ()) -> str:
    """Why `user` may not make a domU of `host` listen on `listen` ('' when they may).

    `kept` are values the form already held (the domU's current `vnclisten`, or the default an
    admin gave the host): keeping one is not setting it, so an operator can still edit memory.
    """
    if not listen or is_loopback(listen) or listen in set(kept):
        return ""
    if not access.is_admin(user):
        return (
            f"Only an admin may make VNC listen on {listen} (an address other than loopback, "
            f"127.0.0.1), and only on hosts that allow it; ask an admin, or keep 127.0.0.1 and "
            "use the console in the browser or an SSH tunnel."
        )
    if not host.vnc_exposure_allowed:
        return (
            f"{host.name} does not allow VNC on addresses other than loopback: enable "
            f"“Allow VNC beyond loopback” in {host.name}'s settings first, or keep 127.0.0.1."
        )
    return ""


def kept_values(host: Host, *current: str | None) -> tuple[str, ...]:
    """The listen addresses a form may keep without asking: the current one, and the host's
    default when the host still allows exposure (an admin chose it for this host)."""
    kept = [c for c in current if c]
    if host.vnc_exposure_allowed and host.vnc_listen:
        kept.append(host.vnc_listen)
    return tuple(kept)


def host_default_refusal(listen: str, *, allowed: bool) -> str:
    """Why a host's default `vnc_listen` is refused ('' when it is fine)."""
    if not listen or is_loopback(listen) or allowed:
        return ""
    return (
        f"Every new domU on this host would listen on {listen}: tick “Allow VNC beyond loopback” "
        "too, or keep 127.0.0.1."
    )


def warning(listen: str, host_name: str) -> str:
    """The sentence shown wherever an exposed domU's VNC is shown ('' for loopback)."""
    if not listen or is_loopback(listen):
        return ""
    return (
        f"VNC listens on {listen} of {host_name}: anyone who reaches it can try the "
        "8-character VNC password."
    )
