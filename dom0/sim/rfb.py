"""A small RFB 3.8 server (RFC 6143): None or VNC authentication, Raw encoding, keyboard input.

It serves one shared `Screen` to any number of clients, a thread each. Enough for noVNC and
for `vncviewer`; not a general VNC server (no colour maps, no copy-rect, no clipboard).
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from . import vncauth, vncscreen

_KEY_BACKSPACE, _KEY_TAB, _KEY_RETURN, _KEY_DELETE = 0xFF08, 0xFF09, 0xFF0D, 0xFFFF
_CTRL = {0xFFE3, 0xFFE4}
_ALT = {0xFFE9, 0xFFEA, 0xFFE7, 0xFFE8}
_SHIFT = {0xFFE1, 0xFFE2}
#: Names of the keys a combination is written with in the record ("Ctrl+Alt+F2").
_NAMES = {
    _KEY_BACKSPACE: "BackSpace",
    _KEY_TAB: "Tab",
    _KEY_RETURN: "Return",
    _KEY_DELETE: "Delete",
    0xFF1B: "Escape",
    0xFF61: "Print",
    **{0xFFBE + i: f"F{i + 1}" for i in range(12)},
}
#: How many key events the record keeps (the newest).
MAX_EVENTS = 200
_SERVER_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)


class Screen:
    """What every client sees, and the keyboard state the clients change."""

    def __init__(
        self, info: dict[str, str], on_keys: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.lock = threading.Condition()
        self.info = dict(info)
        self.typed = ""
        self.ctrl_alt_del = 0
        self.held: set[int] = set()
        # Every key event as [keysym, down], and each non-modifier key pressed with what was
        # held ("Ctrl+Alt+F2"): what the console's send-keys menu is checked against.
        self.events: list[list[int]] = []
        self.combos: list[str] = []
        self.on_keys = on_keys
        self.version = 0
        self.pixels = vncscreen.render(self.info, "", 0)

    def _redraw(self) -> None:
        pixels = vncscreen.render(self.info, self.typed.replace("\n", " | "), self.ctrl_alt_del)
        if pixels != self.pixels:
            self.pixels = pixels
            self.version += 1
            self.lock.notify_all()

    def update(self, info: dict[str, str]) -> None:
        with self.lock:
            if info != self.info:
                self.info = dict(info)
                self._redraw()

    def record(self) -> dict[str, Any]:
        """What the keyboard sent so far (call with the lock held)."""
        return {
            "typed": self.typed,
            "ctrl_alt_del": self.ctrl_alt_del,
            "events": list(self.events),
            "combos": list(self.combos),
        }

    def _note(self, keysym: int, down: bool) -> None:
        self.events = [*self.events[-(MAX_EVENTS - 1) :], [keysym, int(down)]]
        modifiers = _CTRL | _ALT | _SHIFT
        if down and keysym not in modifiers:
            held = [
                name
                for name, keys in (("Ctrl", _CTRL), ("Alt", _ALT), ("Shift", _SHIFT))
                if self.held & keys
            ]
            if held:  # plain typing is in `typed`; combinations are listed here
                name = _NAMES.get(keysym) or (chr(keysym) if 0x20 < keysym < 0x7F else hex(keysym))
                self.combos = [*self.combos[-(MAX_EVENTS - 1) :], "+".join([*held, name])]

    def key(self, keysym: int, down: bool) -> None:
        with self.lock:
            self._note(keysym, down)
            before = (self.typed, self.ctrl_alt_del)
            if not down:
                self.held.discard(keysym)
            else:
                self.held.add(keysym)
                self._type(keysym)
            if self.on_keys:
                self.on_keys(self.record())
            if (self.typed, self.ctrl_alt_del) != before:
                self._redraw()

    def _type(self, keysym: int) -> None:
        if keysym == _KEY_DELETE and self.held & _CTRL and self.held & _ALT:
            self.ctrl_alt_del += 1
        elif keysym == _KEY_BACKSPACE:
            if not self.held & _CTRL:
                self.typed = self.typed[:-1]
        elif keysym == _KEY_RETURN:
            self.typed += "\n"
        elif keysym == _KEY_TAB:
            self.typed += "\t"
        elif 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
            if not self.held & _CTRL:
                self.typed += chr(keysym)
        self.typed = self.typed[-4096:]


class _Closed(Exception):
    pass


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise _Closed
        data += chunk
    return data


class _PixelFormat:
    """The client's pixel format, as a lookup table from palette index to pixel bytes."""

    def __init__(self, raw: bytes) -> None:
        bpp, _depth, big, true_colour, rmax, gmax, bmax, rs, gs, bs = struct.unpack(
            ">BBBBHHHBBB3x", raw
        )
        if not true_colour or bpp not in (8, 16, 32):
            raise _Closed  # colour maps are not supported
        self.bpp = bpp
        order = "big" if big else "little"
        self.table = [
            ((r * rmax // 255) << rs | (g * gmax // 255) << gs | (b * bmax // 255) << bs).to_bytes(
                bpp // 8, order
            )
            for r, g, b in vncscreen.PALETTE
        ]
        self.translate = bytes(t[0] for t in self.table).ljust(256, b"\0") if bpp == 8 else None

    def encode(self, pixels: bytes | bytearray) -> bytes:
        if self.translate is not None:
            return bytes(pixels).translate(self.translate)
        return b"".join(map(self.table.__getitem__, pixels))


class Client:
    """One RFB connection: handshake, then answer update requests and take key events."""

    def __init__(self, conn: socket.socket, screen: Screen, password: str, name: str) -> None:
        self.conn = conn
        self.screen = screen
        self.password = password
        self.name = name
        self.format = _PixelFormat(_SERVER_FORMAT)
        self.sent: bytearray | None = None
        self.wants_update = False
        self.buffer = b""

    def run(self) -> None:
        try:
            self.conn.settimeout(30)
            if self.handshake():
                self.conn.settimeout(0.25)
                self.loop()
        except (_Closed, OSError):
            pass
        finally:
            self.conn.close()

    def handshake(self) -> bool:
        conn = self.conn
        conn.sendall(b"RFB 003.008\n")
        version = _recv_exact(conn, 12)
        if not version.startswith(b"RFB 003."):
            return False
        minor = int(version[8:11]) if version[8:11].isdigit() else 3
        sec_type = 2 if self.password else 1
        if minor >= 7:
            conn.sendall(bytes([1, sec_type]))
            if _recv_exact(conn, 1)[0] != sec_type:
                return False
        else:
            conn.sendall(struct.pack(">I", sec_type))
        if sec_type == 2:
            challenge = os.urandom(16)
            conn.sendall(challenge)
            response = _recv_exact(conn, 16)
            if not vncauth.check_response(self.password, challenge, response):
                reason = b"Authentication failed"
                tail = struct.pack(">I", len(reason)) + reason if minor >= 8 else b""
                conn.sendall(struct.pack(">I", 1) + tail)
                return False
        if sec_type == 2 or minor >= 8:
            conn.sendall(struct.pack(">I", 0))
        _recv_exact(conn, 1)  # ClientInit: the shared flag; every client shares the screen
        name = self.name.encode("utf-8")
        w, h = vncscreen.WIDTH, vncscreen.HEIGHT
        conn.sendall(
            struct.pack(">HH", w, h) + _SERVER_FORMAT + struct.pack(">I", len(name)) + name
        )
        return True

    def loop(self) -> None:
        while True:
            try:
                chunk = self.conn.recv(65536)
                if not chunk:
                    return
                self.buffer += chunk
            except TimeoutError:
                pass
            while self.handle_message():
                pass
            if self.wants_update and self.sent is not None:
                with self.screen.lock:
                    pixels = bytearray(self.screen.pixels)
                self.send_changes(pixels)

    def handle_message(self) -> bool:
        """Consume one complete client message from the buffer; False if none is complete."""
        buf = self.buffer
        if not buf:
            return False
        kind = buf[0]
        sizes = {0: 20, 3: 10, 4: 8, 5: 6}
        if kind == 2:
            if len(buf) < 4:
                return False
            size = 4 + 4 * struct.unpack(">H", buf[2:4])[0]
        elif kind == 6:
            if len(buf) < 8:
                return False
            size = 8 + (struct.unpack(">i", buf[4:8])[0] & 0x7FFFFFFF)
        elif kind in sizes:
            size = sizes[kind]
        else:
            raise _Closed  # a message we never offered
        if len(buf) < size:
            return False
        message, self.buffer = buf[:size], buf[size:]
        if kind == 0:
            self.format = _PixelFormat(message[4:20])
            self.sent = None
        elif kind == 3:
            incremental = message[1]
            if not incremental or self.sent is None:
                with self.screen.lock:
                    pixels = bytearray(self.screen.pixels)
                self.send_rows(pixels, 0, vncscreen.HEIGHT)
                self.sent = pixels
                self.wants_update = False
            else:
                self.wants_update = True
        elif kind == 4:
            self.screen.key(struct.unpack(">I", message[4:8])[0], bool(message[1]))
        return True

    def send_changes(self, pixels: bytearray) -> None:
        assert self.sent is not None
        w = vncscreen.WIDTH
        rows = [
            y
            for y in range(vncscreen.HEIGHT)
            if pixels[y * w : (y + 1) * w] != self.sent[y * w : (y + 1) * w]
        ]
        if rows:
            self.send_rows(pixels, rows[0], rows[-1] + 1)
            self.sent = pixels
            self.wants_update = False

    def send_rows(self, pixels: bytearray, top: int, bottom: int) -> None:
        w = vncscreen.WIDTH
        header = struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, top, w, bottom - top, 0)
        self.conn.sendall(header + self.format.encode(pixels[top * w : bottom * w]))


def serve(listener: socket.socket, screen: Screen, password: str, name: str) -> None:
    """Accept clients for ever, each in a daemon thread."""
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = Client(conn, screen, password, name)
        threading.Thread(target=client.run, daemon=True).start()
