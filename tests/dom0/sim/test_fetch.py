from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dom0.sim import SimHost

PAYLOAD = bytes(range(256)) * 1024  # 256 KiB, several chunks


class _Handler(http.server.BaseHTTPRequestHandler):
    def _head(self) -> bool:
        if self.path != "/freebsd.iso":
            self.send_error(404)
            return False
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.send_header("Last-Modified", "Tue, 04 Jun 2024 12:00:00 GMT")
        self.end_headers()
        return True

    def do_HEAD(self) -> None:  # noqa: N802
        self._head()

    def do_GET(self) -> None:  # noqa: N802
        if self._head():
            self.wfile.write(PAYLOAD)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_it_prints_the_remote_size(host: SimHost, server: str) -> None:
    assert host.run(["fetch", "-s", f"{server}/freebsd.iso"]).stdout == f"{len(PAYLOAD)}\n"


def test_it_downloads_into_the_host_filesystem(host: SimHost, server: str) -> None:
    target = "/var/lib/xenpanel/isos/freebsd.iso"
    result = host.run(["fetch", "-T", "30", "-o", target, f"{server}/freebsd.iso"])
    assert result.rc == 0, result.stderr
    assert host.path(target).read_bytes() == PAYLOAD
    assert result.stderr.startswith(f"{target:<46}        ")
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1
    assert int(host.path(target).stat().st_mtime) == 1717502400
    quiet = host.run(["fetch", "-q", "-o", target, f"{server}/freebsd.iso"])
    assert (quiet.rc, quiet.stderr) == (0, "")


def test_it_reports_404_and_leaves_no_file(host: SimHost, server: str) -> None:
    url = f"{server}/missing.iso"
    result = host.run(["fetch", "-o", "/root/missing.iso", url])
    assert (result.rc, result.stderr) == (1, f"fetch: {url}: Not Found\n")
    assert not host.path("/root/missing.iso").exists()
    size = host.run(["fetch", "-s", url])
    assert (size.rc, size.stderr) == (1, "fetch: Not Found\n")


def test_it_reports_a_refused_connection(host: SimHost) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/x.iso"
    result = host.run(["fetch", "-o", "/root/x.iso", url])
    assert (result.rc, result.stderr) == (1, f"fetch: {url}: Connection refused\n")


def test_it_refuses_local_file_urls(host: SimHost, tmp_path: Path) -> None:
    result = host.run(["fetch", "-o", "/root/x", f"file://{tmp_path}/x"])
    assert result.rc == 1
    assert "Invalid URL scheme" in result.stderr


CHUNK = 65536
CHUNKS = 4


class _SteppedHandler(http.server.BaseHTTPRequestHandler):
    """Send CHUNKS chunks; before each next one, wait until the test has seen the last arrive."""

    seen: list[threading.Event] = []

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(CHUNKS * CHUNK))
        self.end_headers()
        for i in range(CHUNKS):
            self.wfile.write(b"x" * CHUNK)
            self.wfile.flush()
            if i < CHUNKS - 1 and not self.seen[i].wait(10):
                return  # the test gave up; fetch then reports a truncated file

    def log_message(self, *args: object) -> None:
        pass


def test_the_file_grows_while_downloading(host: SimHost) -> None:
    seen = [threading.Event() for _ in range(CHUNKS - 1)]
    handler = type("Handler", (_SteppedHandler,), {"seen": seen})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/slow.iso"
    target = host.path("/root/slow.iso")
    results = []
    worker = threading.Thread(
        target=lambda: results.append(host.run(["fetch", "-o", "/root/slow.iso", url]))
    )
    worker.start()
    sizes = set()
    deadline = time.monotonic() + 30
    while worker.is_alive():
        assert time.monotonic() < deadline, f"fetch did not finish; sizes seen: {sorted(sizes)}"
        if target.exists():
            size = target.stat().st_size
            sizes.add(size)
            for i in range(min(size // CHUNK, CHUNKS - 1)):
                seen[i].set()  # the server sends the next chunk only now
        time.sleep(0.01)
    worker.join()
    httpd.shutdown()
    httpd.server_close()
    assert results[0].rc == 0, results[0].stderr
    assert len([s for s in sizes if 0 < s < CHUNKS * CHUNK]) >= 2
