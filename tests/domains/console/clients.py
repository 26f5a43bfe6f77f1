"""Minimal clients for the console tests: RFB over TCP, and RFB over a WebSocket (RFC 6455).

Written here rather than taken from websockify (its client drops the query string, where the
ticket travels) or from the simulator (its server and our client must not share code).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_banner(port: int, host: str = "127.0.0.1", timeout: float = 5) -> bytes:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        return _recv_exact(sock, 12)


class WebSocketClient:
    """A blocking binary WebSocket client: connect(url) then recv_bytes(n) / send_bytes(b)."""

    def __init__(self, host: str, port: int, path: str, timeout: float = 5) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        self.status = int(head.split(b" ", 2)[1])
        if self.status != 101:
            raise ConnectionError(f"handshake refused: {head.decode(errors='replace')}")
        self.buffer = b""
        self.closed = False

    def _frame(self) -> None:
        b1, b2 = _recv_exact(self.sock, 2)
        length = b2 & 0x7F
        if length == 126:
            length = struct.unpack(">H", _recv_exact(self.sock, 2))[0]
        elif length == 127:
            length = struct.unpack(">Q", _recv_exact(self.sock, 8))[0]
        payload = _recv_exact(self.sock, length)
        opcode = b1 & 0x0F
        if opcode == 8:
            self.closed = True
            raise ConnectionError(f"websocket closed: {payload[2:].decode(errors='replace')}")
        if opcode in (0, 1, 2):
            self.buffer += payload

    def recv_bytes(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._frame()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def send_bytes(self, data: bytes) -> None:
        mask = os.urandom(4)
        length = len(data)
        if length < 126:
            header = struct.pack(">BB", 0x82, 0x80 | length)
        else:
            header = struct.pack(">BBH", 0x82, 0x80 | 126, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(header + mask + masked)

    def close(self) -> None:
        self.sock.close()


def rfb_handshake_none(recv, send) -> str:  # type: ignore[no-untyped-def]
    """Do an RFB 3.8 handshake with security type None; return the desktop name."""
    assert recv(12) == b"RFB 003.008\n"
    send(b"RFB 003.008\n")
    count = recv(1)[0]
    types = recv(count)
    assert 1 in types, types
    send(b"\x01")
    assert struct.unpack(">I", recv(4))[0] == 0
    send(b"\x01")
    _w, _h = struct.unpack(">HH", recv(4))
    recv(16)
    name_len = struct.unpack(">I", recv(4))[0]
    return recv(name_len).decode()


def keys_seen(
    state_dir: Path, name: str, check: Callable[[dict[str, Any]], bool], timeout: float = 3
) -> bool:
    """Wait until the server's record of received keys satisfies `check`."""
    path = state_dir / "vnc" / f"{name}.keys.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check(json.loads(path.read_text())):
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    return False
