"""Storage fixtures: a simulated host, generated ISO images, a local HTTP server, role users."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from hosts.models import Host
from hosts.simhosts import create_sim_host

ISO_MAGIC_AT = 32768  # type byte 1, then "CD001" at 32769


def iso_bytes(size: int, seed: int = 7) -> bytes:
    """Return `size` varied bytes that pass the ISO 9660 signature check."""
    assert size >= ISO_MAGIC_AT + 6
    block = bytes((i * seed + i // 251) % 256 for i in range(65536))
    data = bytearray((block * (size // len(block) + 1))[:size])
    data[ISO_MAGIC_AT : ISO_MAGIC_AT + 6] = b"\x01CD001"
    return bytes(data)


@pytest.fixture(autouse=True)
def _storage_settings(settings, tmp_path: Path) -> None:
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.VOLUME_BUSY_PAUSE = 0.05
    settings.FETCH_ALLOW_PRIVATE = False


@pytest.fixture
def sim_host(tmp_path: Path) -> Host:
    return create_sim_host("xen1", state_dir=tmp_path / "xen1")


@dataclass
class Served:
    """What the test HTTP server offers: path -> bytes; how fast, and where a download stops.

    `delay` (seconds per 64 KiB) only simulates a slow link, for pages that should show a bar
    moving. A test that needs the download to be in progress at some point uses `pause_at`
    instead: a GET sends that many bytes (rounded up to 64 KiB pieces), sets `paused`, and sends
    the rest only once the test sets `resume` (the fixture sets it at the end).
    """

    files: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    unsized: set[str] = field(default_factory=set)  # answered without a Content-Length
    delay: float = 0.0
    pause_at: int | None = None
    paused: threading.Event = field(default_factory=threading.Event)
    resume: threading.Event = field(default_factory=threading.Event)
    url: str = ""


@pytest.fixture
def http_files() -> Iterator[Served]:
    served = Served()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _head(self) -> bytes | None:
            if self.path in served.redirects:
                self.send_response(302)
                self.send_header("Location", served.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            body = served.files.get(self.path)
            if body is None:
                self.send_error(404)
                return None
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if self.path not in served.unsized:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return body

        def do_HEAD(self) -> None:  # noqa: N802
            self._head()

        def do_GET(self) -> None:  # noqa: N802
            body = self._head()
            if body is None:
                return
            try:
                for start in range(0, len(body), 65536):
                    if served.pause_at is not None and start >= served.pause_at:
                        served.paused.set()
                        if not served.resume.wait(60):
                            return
                    self.wfile.write(body[start : start + 65536])
                    self.wfile.flush()
                    if served.delay:
                        time.sleep(served.delay)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield served
    served.delay = 0
    served.resume.set()
    httpd.shutdown()
    httpd.server_close()


def _user(django_user_model, name: str, role: str | None):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(name, password="pw-" + name)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def operator(django_user_model):  # type: ignore[no-untyped-def]
    return _user(django_user_model, "olga", "operator")


@pytest.fixture
def operator_client(operator):  # type: ignore[no-untyped-def]
    # A client of its own: `admin_client` uses the shared `client`.
    from django.test import Client

    c = Client()
    c.force_login(operator)
    return c


@pytest.fixture
def viewer_client(django_user_model):  # type: ignore[no-untyped-def]
    from django.test import Client

    c = Client()
    c.force_login(_user(django_user_model, "vera", "viewer"))
    return c


@pytest.fixture
def stranger_client(django_user_model):  # type: ignore[no-untyped-def]
    from django.test import Client

    c = Client()
    c.force_login(_user(django_user_model, "sam", "operator"))
    return c


def write_local(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A TCP connection on loopback, as gunicorn gets it: (server side, client side)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    yield server, client
    server.close()
    client.close()
