"""Request bodies of upload chunks, copied into the partial file the fastest way the server
allows."""

from __future__ import annotations

import fcntl
import os
import select
import ssl
from collections.abc import Callable
from typing import Any

from storage.upload_files import READ_BLOCK

#: A request body that sends nothing for this long counts as a dropped connection.
BODY_IDLE_SECONDS = 120.0


# Under gunicorn (the Procfile's server) the body is read from the client socket itself: its
# `wsgi.input` reads through a BytesIO-based buffer that copies every byte several times, which
# cost more CPU than receiving, writing and hashing together. On Linux the bytes go from the socket
# to the file with splice(2) (socket -> pipe -> page cache) and never enter Python; elsewhere, and
# for TLS sockets, recv_into() one reusable buffer. Anything that is not a plain gunicorn request
# with a Content-Length (the test client, runserver, chunked bodies) uses `request.read()`.
class RequestBody:
    """A request body that can copy itself into a file."""

    def copy_into(self, fd: int, at: int, count: int) -> int:
        """Write up to `count` bytes of the body at offset `at` of `fd`; 0 at the end."""
        raise NotImplementedError

    def has_more(self) -> bool:
        """Say whether bytes are left after what was copied (a body longer than allowed)."""
        return False

    def close(self) -> None:
        """Release what the copying held."""


class _ReadBody(RequestBody):
    def __init__(self, read: Callable[[int], bytes]) -> None:
        self.read = read

    def copy_into(self, fd: int, at: int, count: int) -> int:
        block = self.read(count)
        pwrite_all(fd, memoryview(block), at)
        return len(block)

    def has_more(self) -> bool:
        return bool(self.read(1))


class _GunicornBody(RequestBody):
    """The rest of a Content-Length body on a gunicorn connection, read from its socket.

    Gunicorn's reader is kept in step (`length` counts down as bytes are taken), so after the
    response gunicorn drains exactly what is left and the keep-alive connection stays in order.
    Nothing is taken from gunicorn before the first copy, and read-ahead bytes not copied go
    back to its buffer on close, so a request refused before (or during) the copy leaves the
    connection in order too. If the copy stops early the connection is marked failed and
    gunicorn closes it.
    """

    def __init__(self, sock: Any, stream: Any, reader: Any) -> None:
        self.sock, self.stream, self.reader = sock, stream, reader
        self.sock_fd = sock.fileno()
        self.started = False
        self.from_socket = False  # whether bytes past the read-ahead were taken from the socket
        self.ahead = memoryview(b"")
        self.pipe: tuple[int, int] | None = None
        self.pipe_size = 0
        self.buffer: memoryview | None = None
        self.poller: Any = None

    def _start(self) -> None:
        self.started = True
        # Bytes gunicorn read ahead with the headers belong to the body (up to its length).
        reader = self.reader
        ahead = reader.unreader.take_buffered()
        if len(ahead) > reader.length:
            reader.unreader.unread(ahead[reader.length :])
            ahead = ahead[: reader.length]
        self.ahead = memoryview(ahead)
        if hasattr(os, "splice") and not isinstance(self.sock, ssl.SSLSocket):
            self.pipe = os.pipe()
            self.pipe_size = _grow_pipe(self.pipe[1])
        self.poller = select.poll()
        self.poller.register(self.sock_fd, select.POLLIN)

    def copy_into(self, fd: int, at: int, count: int) -> int:
        try:
            if not self.started:
                self._start()
            if self.ahead:
                n = min(count, len(self.ahead))
                pwrite_all(fd, self.ahead[:n], at)
                self.ahead = self.ahead[n:]
                self.reader.length -= n
                return n
            count = min(count, self.reader.length)
            if count <= 0:
                return 0
            if not self._wait_readable():
                self.stream.failed = True  # the client stalled: drop the connection
                return 0
            self.from_socket = True
            n = self._splice(fd, at, count) if self.pipe else self._recv(fd, at, count)
            if not n:
                self.stream.failed = True  # the client closed the connection mid-body
            self.reader.length -= n
            return n
        except BaseException:
            self.stream.failed = True  # where the next request starts is unknown now
            raise

    def _wait_readable(self) -> bool:
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        return bool(self.poller.poll(BODY_IDLE_SECONDS * 1000))

    def _splice(self, fd: int, at: int, count: int) -> int:
        assert self.pipe is not None
        out_, in_ = self.pipe
        n = os.splice(self.sock_fd, in_, min(count, self.pipe_size), flags=os.SPLICE_F_MOVE)
        moved = 0
        while moved < n:
            moved += os.splice(out_, fd, n - moved, offset_dst=at + moved, flags=os.SPLICE_F_MOVE)
        return n

    def _recv(self, fd: int, at: int, count: int) -> int:
        if self.buffer is None:
            self.buffer = memoryview(bytearray(READ_BLOCK))
        n = self.sock.recv_into(self.buffer[: min(count, READ_BLOCK)])
        pwrite_all(fd, self.buffer[:n], at)
        return n

    def close(self) -> None:
        if self.ahead:
            # Read-ahead body bytes nobody copied (a refusal mid-way): they are still counted
            # in `reader.length`, so give them back for gunicorn's drain to find. They precede
            # anything in its buffer, and nothing was taken from the socket after them.
            if self.from_socket:
                self.stream.failed = True  # cannot happen; never guess where a request starts
            else:
                self.reader.unreader.unread(self.ahead.tobytes())
            self.ahead = memoryview(b"")
        if self.pipe is not None:
            for end in self.pipe:
                os.close(end)
            self.pipe = None


def request_body(request: Any) -> RequestBody:
    """Return the body of `request` in the fastest form its server allows (see above)."""
    environ = request.environ
    sock = environ.get("gunicorn.socket")
    stream = environ.get("wsgi.input")
    reader = getattr(stream, "reader", None)
    unreader = getattr(reader, "unreader", None)
    usable = (
        sock is not None
        and type(reader).__name__ == "LengthReader"
        and getattr(unreader, "sock", None) is sock
        and hasattr(unreader, "take_buffered")
        and not getattr(request, "_read_started", True)
        and not stream.buf.getvalue()
        and getattr(sock, "gettimeout", lambda: 0)() is None  # a blocking socket
    )
    return _GunicornBody(sock, stream, reader) if usable else _ReadBody(request.read)


def pwrite_all(fd: int, view: memoryview, at: int) -> None:
    while view:
        n = os.pwrite(fd, view, at)
        view, at = view[n:], at + n


def _grow_pipe(fd: int) -> int:
    """Make a pipe hold READ_BLOCK bytes if the system allows; return its capacity."""
    try:
        return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, READ_BLOCK)
    except (OSError, AttributeError):
        return 65536
