"""Reach a VNC port on an SSH Dom0 through an SSH local port forward opened by the panel.

Xen's default `vnclisten` is 127.0.0.1, so a domU's VNC port is usually reachable only on the
Dom0 itself. For an SSH host the proxy therefore does what `ssh -L` does: it connects to the
host with the panel's key and the host's pinned key (dom0.transports.ssh.SSHTransport,
the same checks the jobs use), listens on an ephemeral 127.0.0.1 port, and carries the one
connection it accepts over a `direct-tcpip` channel to <vnclisten>:<port> on the Dom0.
VNC traffic (unencrypted RFB) thus crosses the network inside SSH.

Which mode when (see targets.console_target):
- sim hosts and "local" hosts (panel on the Dom0): direct TCP to the VNC address;
- SSH hosts: this tunnel, always, whatever vnclisten says (0.0.0.0 is reached as 127.0.0.1).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from dataclasses import fields
from typing import Any

import paramiko

from dom0 import errors
from dom0.transports.base import TransportConfig
from dom0.transports.ssh import SSHTransport

ACCEPT_SECONDS = 15.0
_CONFIG_FIELDS = {f.name for f in fields(TransportConfig)}


def ssh_spec(cfg: TransportConfig) -> dict[str, Any]:
    """Return the parts of a transport config the tunnel needs (kept in the ticket)."""
    return {
        "address": cfg.address,
        "port": cfg.port,
        "user": cfg.user,
        "known_host_key": cfg.known_host_key,
        "key_path": cfg.key_path,
        "connect_timeout": cfg.connect_timeout,
    }


class Forward:
    """A one-connection local port forward over SSH; close() ends it."""

    def __init__(self, spec: dict[str, Any], remote_host: str, remote_port: int) -> None:
        cfg = TransportConfig(kind="ssh", **{k: v for k, v in spec.items() if k in _CONFIG_FIELDS})
        self.remote = (remote_host, remote_port)
        self.transport = SSHTransport(cfg)
        self.ssh = self.transport.connection()  # raises HostUnreachable / HostKeyMismatch
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(ACCEPT_SECONDS)
        self.local_port = int(self.listener.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, peer = self.listener.accept()
        except OSError:
            self.close()
            return
        finally:
            self.listener.close()  # one connection only: nobody else can ride on the forward
        try:
            channel = self.ssh.open_channel("direct-tcpip", self.remote, peer)
        except (paramiko.SSHException, OSError, EOFError):
            conn.close()
            self.close()
            return
        try:
            _pump(conn, channel)
        finally:
            conn.close()
            channel.close()
            self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.close()
        self.transport.close()


def _pump(conn: socket.socket, channel: paramiko.Channel) -> None:
    both: list[socket.socket | paramiko.Channel] = [conn, channel]  # each has a fileno()
    while True:
        readable, _, _ = select.select(both, [], [], 60)
        if conn in readable:
            data = conn.recv(65536)
            if not data:
                return
            channel.sendall(data)
        if channel in readable:
            data = channel.recv(65536)
            if not data:
                return
            conn.sendall(data)


def open_forward(spec: dict[str, Any], remote_host: str, remote_port: int) -> Forward:
    """Open the forward and return it; Dom0Error (a message a person can act on) on failure."""
    try:
        return Forward(spec, remote_host, remote_port)
    except errors.Dom0Error:
        raise
    except (paramiko.SSHException, OSError) as exc:
        raise errors.HostUnreachable(f"cannot open the SSH tunnel: {exc}") from exc
