"""Interfaces, bridges, MAC addresses and a domU's VNC console settings."""

from __future__ import annotations

import ipaddress
import re

from dom0.errors import ValidationError
from dom0.validators.base import match, text

_IFACE_RE = re.compile(r"[a-z][a-z0-9_.]{0,14}")
_IFACE_RULE = (
    "must be an interface name: lowercase letters, digits, '_' and '.', starting with a letter, "
    "at most 15 characters"
)
_BRIDGE_RE = re.compile(r"[a-z][a-z0-9_.]{0,13}[0-9]")
_BRIDGE_RULE = (
    "must be an interface name such as 'bridge0': lowercase letters, digits, '_' and '.', "
    "starting with a letter, ending with a digit, at most 15 characters"
)


def interface_name(value: object, field: str = "interface") -> str:
    """Return a FreeBSD interface name (IFNAMSIZ is 16, so at most 15 characters)."""
    return match(_IFACE_RE, value, field, _IFACE_RULE)


def bridge_name(value: object, field: str = "bridge") -> str:
    """Return a bridge interface name such as `bridge0`.

    Policy: `[a-z][a-z0-9_.]{0,13}[0-9]` — FreeBSD's 15-character interface limit, and ending in a
    unit number as cloned interfaces do (renamed bridges keep working if they end in a digit).
    """
    return match(_BRIDGE_RE, value, field, _BRIDGE_RULE)


_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}")
_MAC_RULE = "must be six hex octets separated by ':', e.g. 00:16:3e:74:34:32"


def mac(value: object, field: str = "mac") -> str:
    """Return a unicast MAC address in lowercase `xx:xx:xx:xx:xx:xx` form."""
    address = match(_MAC_RE, value, field, _MAC_RULE)
    octets = [int(part, 16) for part in re.split("[:-]", address)]
    if octets[0] & 1:
        raise ValidationError(field, "must be a unicast address (first octet even)", value)
    if not any(octets):
        raise ValidationError(field, "must not be 00:00:00:00:00:00", value)
    return ":".join(f"{o:02x}" for o in octets)


def vnc_listen(value: object, field: str = "vnclisten") -> str:
    """Return an IPv4 address for a domU's VNC server.

    IPv6 is refused: libxl passes a `vnclisten` that contains ':' to QEMU unchanged as
    `host:display`, so a bare IPv6 address would be misread.
    """
    address = text(value, field)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValidationError(field, "must be an IPv4 address such as 127.0.0.1", value) from None
    if isinstance(ip, ipaddress.IPv6Address):
        raise ValidationError(
            field,
            "must be an IPv4 address: libxl reads a ':' in vnclisten as a display number",
            value,
        )
    return str(ip)


_VNC_PASSWORD_RE = re.compile(r"[!#-&(-\[\]-~]{1,8}")


def vnc_password(value: object, field: str = "vncpasswd") -> str:
    """Return a VNC password: 1-8 printable ASCII characters, no space, quotes or backslash.

    Classic VNC authentication (DES) uses only the first 8 bytes, so a longer password would
    promise security it does not give; quotes and backslashes would need escaping in xl.cfg.
    The error carries no value: a password must not reach a page or a log.
    """
    if not isinstance(value, str) or not _VNC_PASSWORD_RE.fullmatch(value):
        raise ValidationError(
            field,
            "must be 1 to 8 printable ASCII characters without spaces, quotes or backslashes "
            "(VNC authentication uses only 8 characters)",
        )
    return value
