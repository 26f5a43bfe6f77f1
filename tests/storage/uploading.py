"""Helpers for the upload tests: upload sessions, bodies to read, and gunicorn on a socket pair.

The socket helpers run gunicorn's own request parser on a loopback TCP connection (the `pair`
fixture), so a test sees what a keep-alive connection sees: where gunicorn finds the next request.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import termios
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from gunicorn.config import Config
from gunicorn.http.parser import RequestParser

from hosts.models import Host
from storage import uploads
from storage.models import IsoImage, UploadSession

#: gunicorn's first recv() on a new request takes up to this many bytes (SocketUnreader's
#: max_chunk): the headers, and whatever part of the body came with them.
FIRST_READ = 8192
NEXT = b"GET /next/ HTTP/1.1\r\nHost: t\r\n\r\n"


def new_session(host: Host, user: Any, size: int, name: str = "a.iso") -> UploadSession:
    """Start a resumable upload of `size` bytes for a new ISO image `name`."""
    iso = IsoImage.objects.create(
        host=host,
        file_name=name,
        owner=user,
        source=IsoImage.Source.UPLOAD,
        state=IsoImage.State.UPLOADING,
    )
    return uploads.create_session(iso, size, user)


def mark_complete(session: UploadSession) -> None:
    """Mark the session complete (as the PUT that completes the file does), in the DB too."""
    UploadSession.objects.filter(pk=session.pk).update(state=UploadSession.State.COMPLETE)
    session.state = UploadSession.State.COMPLETE


def reader(data: bytes) -> Callable[[int], bytes]:
    """Return a `read(n)` over `data`, as append_chunk takes it."""
    view = memoryview(data)

    def read(n: int) -> bytes:
        nonlocal view
        block, view = view[:n], view[n:]
        return bytes(block)

    return read


def put_request(body: bytes, declared: int | None = None) -> bytes:
    """A PUT request with `body`, announcing `declared` bytes (default: the body's length)."""
    length = len(body) if declared is None else declared
    head = f"PUT /isos/uploads/x/ HTTP/1.1\r\nHost: t\r\nContent-Length: {length}\r\n\r\n"
    return head.encode() + body


def send_later(sock: socket.socket, data: bytes, close: bool = False) -> threading.Thread:
    """Send `data` from a thread (it may be more than the socket buffers hold); return it."""

    def send() -> None:
        sock.sendall(data)
        if close:
            sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def buffered(sock: socket.socket) -> int:
    """Return how many received bytes wait in `sock`'s buffer (FIONREAD)."""
    raw = fcntl.ioctl(sock.fileno(), termios.FIONREAD, struct.pack("i", 0))
    return int(struct.unpack("i", raw)[0])


def send_ahead(
    server: socket.socket, client: socket.socket, data: bytes, timeout: float = 10.0
) -> threading.Thread:
    """Send `data` to `server` and return once gunicorn's first read will take a full buffer.

    That first read then holds the headers and the start of the body (or all of a short one),
    so the code under test must deal with body bytes gunicorn has already read.
    """
    sender = send_later(client, data)
    want = min(len(data), FIRST_READ)
    deadline = time.monotonic() + timeout
    while buffered(server) < want:
        assert time.monotonic() < deadline, f"only {buffered(server)} of {want} bytes arrived"
        time.sleep(0.001)
    return sender


def parse_request(server: socket.socket) -> tuple[RequestParser, Any, SimpleNamespace]:
    """Parse the next request on `server` with gunicorn; return (parser, its request, a Django
    request stand-in carrying what `uploads.request_body` looks at)."""
    parser = RequestParser(Config(), server, ("127.0.0.1", 9))
    req = next(parser)
    request = SimpleNamespace(
        environ={"gunicorn.socket": server, "wsgi.input": req.body},
        _read_started=False,
        read=req.body.read,
    )
    return parser, req, request
