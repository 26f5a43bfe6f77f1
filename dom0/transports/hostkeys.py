"""SSH host keys: read a server's key without trusting it, fingerprint it, parse a pinned key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import socket
from dataclasses import dataclass

import paramiko

from dom0 import errors

#: Key types a pin may use. ssh-ed25519 first: it is what fetch_host_key asks the server for.
PIN_KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)


@dataclass(frozen=True)
class HostKeyInfo:
    key_type: str
    base64: str
    fingerprint_sha256: str
    openssh_line: str


def fingerprint_sha256(key_blob: bytes) -> str:
    """Return the fingerprint as `ssh-keygen -l` prints it: "SHA256:" + unpadded base64."""
    digest = hashlib.sha256(key_blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _info(key: paramiko.PKey) -> HostKeyInfo:
    blob = key.asbytes()
    b64 = base64.b64encode(blob).decode("ascii")
    key_type = key.get_name()
    return HostKeyInfo(key_type, b64, fingerprint_sha256(blob), f"{key_type} {b64}")


def parse_pinned_key(line: str) -> paramiko.PKey:
    """Return the key from a pinned "type base64 [comment]" line; ValidationError when malformed."""
    parts = line.split()
    if len(parts) < 2 or parts[0] not in PIN_KEY_TYPES:
        raise errors.ValidationError(
            "known_host_key", 'must look like "ssh-ed25519 AAAA..." (type and base64 key)', line
        )
    try:
        blob = base64.b64decode(parts[1], validate=True)
        key = paramiko.PKey.from_type_string(parts[0], blob)
    except (binascii.Error, ValueError, paramiko.SSHException) as exc:
        raise errors.ValidationError(
            "known_host_key", "the base64 key data does not decode to a key", line
        ) from exc
    if key.get_name() != parts[0]:
        raise errors.ValidationError("known_host_key", "key type and key data disagree", line)
    return key


def host_key_info(line: str) -> HostKeyInfo:
    """Return type, base64 and SHA256 fingerprint of a pinned key line (to show it to an admin)."""
    return _info(parse_pinned_key(line))


def fetch_host_key(address: str, port: int = 22, timeout: float = 10) -> HostKeyInfo:
    """Connect, run the key exchange and return the server's host key, without authenticating.

    The key is not trusted by this call: an admin must compare its fingerprint with the one
    `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints on the host before pinning it.
    """
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError as exc:
        raise errors.HostUnreachable(f"cannot connect to {address}:{port}: {exc}") from exc
    transport = paramiko.Transport(sock)
    try:
        opts = transport.get_security_options()
        offered = list(opts.key_types)
        opts.key_types = [t for t in PIN_KEY_TYPES if t in offered] + [
            t for t in offered if t not in PIN_KEY_TYPES
        ]
        transport.banner_timeout = timeout
        transport.start_client(timeout=timeout)
        return _info(transport.get_remote_server_key())
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise errors.HostUnreachable(
            f"no SSH key exchange with {address}:{port}: {str(exc) or type(exc).__name__}"
        ) from exc
    finally:
        transport.close()
