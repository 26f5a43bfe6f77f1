"""Reading an upload chunk straight from gunicorn's client socket (splice or recv_into).

These use gunicorn's own request parser on a real socket pair, so they check what matters for a
keep-alive connection: the body lands in the file byte for byte, and gunicorn still finds the
next request where it starts.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.http.parser import RequestParser

from hosts import uploads


def _send_later(sock: socket.socket, data: bytes, close: bool = False) -> threading.Thread:
    def send() -> None:
        sock.sendall(data)
        if close:
            sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def _request(body: bytes, declared: int | None = None) -> bytes:
    length = len(body) if declared is None else declared
    head = f"PUT /isos/uploads/x/ HTTP/1.1\r\nHost: t\r\nContent-Length: {length}\r\n\r\n"
    return head.encode() + body


def _parse(server: socket.socket) -> tuple[RequestParser, object, SimpleNamespace]:
    parser = RequestParser(Config(), server, ("127.0.0.1", 9))
    req = next(parser)
    request = SimpleNamespace(
        environ={"gunicorn.socket": server, "wsgi.input": req.body},
        _read_started=False,
        read=req.body.read,
    )
    return parser, req, request


def _copy(body: uploads.RequestBody, path: Path, size: int) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        at = 0
        while at < size and (n := body.copy_into(fd, at, min(uploads.READ_BLOCK, size - at))):
            at += n
        return at
    finally:
        body.close()
        os.close(fd)


def test_it_copies_the_body_and_leaves_the_next_request_in_place(pair, tmp_path):
    server, client = pair
    data = os.urandom(3 * 2**20 + 4321)
    nxt = b"GET /next/ HTTP/1.1\r\nHost: t\r\n\r\n"
    sender = _send_later(client, _request(data) + nxt)
    parser, req, request = _parse(server)
    body = uploads.request_body(request)
    assert isinstance(body, uploads._GunicornBody)  # noqa: SLF001
    assert _copy(body, tmp_path / "a.part", len(data)) == len(data)
    sender.join()
    assert (tmp_path / "a.part").read_bytes() == data
    assert req.body.reader.length == 0 and not req.body.failed
    following = next(parser)  # gunicorn drains nothing and reads the next request intact
    assert following.method == "GET" and following.path == "/next/"


def test_it_keeps_what_arrived_when_the_client_stops_mid_body(pair, tmp_path):
    server, client = pair
    data = os.urandom(700_000)
    sender = _send_later(client, _request(data, declared=2 * 2**20), close=True)
    _, req, request = _parse(server)
    got = _copy(uploads.request_body(request), tmp_path / "b.part", 2 * 2**20)
    sender.join()
    assert got == len(data)
    assert (tmp_path / "b.part").read_bytes() == data
    assert req.body.failed  # gunicorn closes this connection instead of reusing it


def test_it_falls_back_to_read_when_django_has_read_the_body(pair, tmp_path):
    server, client = pair
    data = os.urandom(100_000)
    sender = _send_later(client, _request(data))
    _, _, request = _parse(server)
    request._read_started = True  # noqa: SLF001
    body = uploads.request_body(request)
    assert isinstance(body, uploads._ReadBody)  # noqa: SLF001
    assert _copy(body, tmp_path / "c.part", len(data)) == len(data)
    sender.join()
    assert (tmp_path / "c.part").read_bytes() == data


def test_it_hashes_a_growing_file_in_the_background(tmp_path):
    path = tmp_path / "grow.part"
    data = os.urandom(9 * 2**20 + 17)
    hasher = uploads._FileHasher(path)  # noqa: SLF001
    with open(path, "wb") as fh:
        for start in range(0, len(data), 3_000_001):
            fh.write(data[start : start + 3_000_001])
            fh.flush()
            hasher.advance(fh.tell())
    assert hasher.digest(len(data)) == hashlib.sha256(data).hexdigest()
    hasher.close()


def test_a_hasher_told_of_bytes_the_file_lacks_gives_no_digest(tmp_path):
    # finish_session then hashes the file itself instead of trusting a hash of fewer bytes.
    path = tmp_path / "short.part"
    path.write_bytes(os.urandom(3 * 2**20))
    hasher = uploads._FileHasher(path)  # noqa: SLF001
    assert hasher.digest(4 * 2**20) is None
    assert isinstance(hasher.error, OSError) and "shorter" in str(hasher.error)
    hasher.close()
