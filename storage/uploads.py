"""Receive ISO uploads: streamed to disk, hashed as they arrive, resumable after a dropped link.

The resumable protocol (used by static/js/upload.js and bench/upload.py):

- `POST /isos/uploads/` with host, file_name, size (and an optional checksum) creates a session
  and reserves the image name; the answer is JSON with the session URL and the chunk size.
- `PUT <session url>` with `Upload-Offset: N` and raw bytes appends them at N. N must be the
  server's current offset (409 with the offset otherwise). Bytes are written as they arrive, so a
  connection that drops mid-chunk still leaves everything received so far.
- `GET <session url>` answers the current offset: after a network error the browser asks, then
  continues from there instead of starting over.
- The request that completes the file triggers the checks (ISO 9660 signature, SHA-256) and the
  job that copies the image to its host.

The plain HTML form (no JavaScript) posts the whole file as multipart instead;
`StreamingIsoHandler` writes it to disk with the same hashing and checks.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import select
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction

from accounts import quotas
from storage.models import IsoImage, UploadSession

#: ISO 9660: the primary volume descriptor starts at sector 16 (byte 32768) with type byte 1,
#: then the standard identifier "CD001".
ISO_MAGIC = b"CD001"
ISO_MAGIC_OFFSET = 32769
ISO_MIN_BYTES = ISO_MAGIC_OFFSET + len(ISO_MAGIC)
READ_BLOCK = 1024 * 1024
#: Blocks the hashing thread reads back from the page cache into one reused buffer, which stays
#: in the core's cache while it is hashed. Measured (docs/performance.md): cheaper than mapping
#: the file, whose page faults cost more than the copy; 256 KiB to 4 MiB blocks cost the same.
HASH_BLOCK = 1024 * 1024
#: A request body that sends nothing for this long counts as a dropped connection.
BODY_IDLE_SECONDS = 120.0
#: A hashing thread with nothing to do for this long exits, and its session's hasher is forgotten.
HASHER_IDLE_SECONDS = 30.0

DISCARDED = "This upload was discarded; start it again."
NOT_AN_ISO = (
    "This is not an ISO 9660 image (no 'CD001' at byte 32769). Upload the installer .iso file, "
    "not a compressed .xz/.gz file or a USB .img."
)


class UploadRefused(Exception):
    """The upload cannot go on; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, offset: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.offset = offset


# --- hashing that survives across chunk requests -------------------------------------------------
# The partial file is the truth, and its bytes never change once written (a chunk only appends at
# the current end). So the SHA-256 is the hash of the file's prefix: a thread per session in each
# process reads back what the request threads wrote (still in the page cache) and hashes it,
# while the next bytes arrive. Requests never wait for it, except the one that completes the
# file. A chunk that lands in another process (or after a restart) starts a hasher there from
# byte 0; it catches up from disk, in the background too. A hasher is forgotten when its session
# ends here, and when its thread exits idle (the session may have ended in another process, or
# been abandoned): resuming after such a pause hashes the prefix from disk again.
_HASHERS: dict[str, _FileHasher] = {}
_HASHERS_LOCK = threading.Lock()


class _FileHasher:
    """Hash a growing file from the start, as far as its writers say it is written."""

    def __init__(self, path: Path, key: str = "") -> None:
        self.path = path
        self.key = key  # its entry in _HASHERS, dropped when the thread exits idle
        self.hasher = hashlib.sha256()
        self.done = 0  # bytes hashed
        self.target = 0  # bytes known to be on disk
        self.error: Exception | None = None
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None
        self.closed = False

    def advance(self, written: int) -> None:
        """Say that the file holds at least `written` bytes; hash them in the background."""
        with self.cond:
            if written <= self.target or self.closed:
                return
            self.target = written
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="upload-sha256", daemon=True)
                self.thread.start()
            self.cond.notify_all()

    def digest(self, size: int) -> str | None:
        """Wait until the first `size` bytes are hashed; None if reading the file failed."""
        self.advance(size)
        with self.cond:
            while self.done < size and self.error is None and not self.closed:
                self.cond.wait(1.0)
            if self.error is not None or self.done != size:
                return None
            return self.hasher.hexdigest()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def _run(self) -> None:
        fd = -1
        buffer = memoryview(bytearray(HASH_BLOCK))
        try:
            fd = os.open(self.path, os.O_RDONLY)
            while True:
                with self.cond:
                    idle_until = time.monotonic() + HASHER_IDLE_SECONDS
                    while self.done >= self.target and not self.closed:
                        left = idle_until - time.monotonic()
                        if left <= 0:
                            break
                        self.cond.wait(left)
                    if self.closed or self.done >= self.target:
                        self.thread = None  # idle: the next advance() starts a new thread
                        break
                    at, want = self.done, min(HASH_BLOCK, self.target - self.done)
                got = os.preadv(fd, [buffer[:want]], at)
                if got <= 0:
                    raise OSError(f"{self.path} is shorter than its writers said ({at} bytes)")
                self.hasher.update(buffer[:got])  # releases the GIL while it hashes
                with self.cond:
                    self.done += got
                    self.cond.notify_all()
        except Exception as exc:  # reported through digest(); the caller hashes from disk
            with self.cond:
                self.error = exc
                self.thread = None
                self.cond.notify_all()
        finally:
            if fd >= 0:
                os.close(fd)
        self._forget()

    def _forget(self) -> None:
        """Drop this hasher's entry unless a new thread was started meanwhile."""
        with _HASHERS_LOCK, self.cond:
            if self.thread is None and _HASHERS.get(self.key) is self:
                del _HASHERS[self.key]


def _hasher_for(session: UploadSession) -> _FileHasher:
    key = str(session.code)
    with _HASHERS_LOCK:
        hasher = _HASHERS.get(key)
        if hasher is None or hasher.error is not None:
            hasher = _HASHERS[key] = _FileHasher(session.local_path, key)
        return hasher


def _drop_hasher(session: UploadSession) -> _FileHasher | None:
    with _HASHERS_LOCK:
        hasher = _HASHERS.pop(str(session.code), None)
    if hasher is not None:
        hasher.close()
    return hasher


def file_sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(READ_BLOCK):
            hasher.update(block)
    return hasher.hexdigest()


def has_iso_signature(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(ISO_MAGIC_OFFSET)
        return fh.read(len(ISO_MAGIC)) == ISO_MAGIC


def _check_signature_once(fd: int, before: int, after: int) -> None:
    """Refuse as soon as the bytes where 'CD001' belongs have arrived (not after 4 GiB)."""
    if before < ISO_MIN_BYTES <= after:
        if os.pread(fd, len(ISO_MAGIC), ISO_MAGIC_OFFSET) != ISO_MAGIC:
            raise UploadRefused(NOT_AN_ISO, status=415)


# --- sessions ------------------------------------------------------------------------------------
def upload_dir() -> Path:
    path = Path(settings.UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def create_session(iso: IsoImage, size: int, owner: Any) -> UploadSession:
    """Start receiving `size` bytes for `iso` (call inside the view's transaction)."""
    if size > settings.ISO_UPLOAD_MAX_BYTES:
        raise UploadRefused(too_big_message(), status=413)
    try:
        quotas.check(iso.owner, exclude=iso, iso_bytes=size)
    except quotas.QuotaExceeded as exc:
        raise UploadRefused(str(exc), status=403) from exc
    IsoImage.objects.filter(pk=iso.pk).update(size_bytes=size)  # holds its quota share from now
    session = UploadSession.objects.create(
        owner=owner if owner.is_authenticated else None,
        iso=iso,
        file_name=iso.file_name,
        size_bytes=size,
    )
    upload_dir()
    session.local_path.touch()
    return session


def too_big_message() -> str:
    from dom0.units import binary_size

    limit = binary_size(settings.ISO_UPLOAD_MAX_BYTES)
    return f"The file is larger than the upload limit ({limit}, setting ISO_UPLOAD_MAX_BYTES)."


def current_offset(session: UploadSession) -> int:
    """The number of bytes the server holds: the size of the partial file is the truth."""
    try:
        return session.local_path.stat().st_size
    except FileNotFoundError:
        return 0


@dataclass
class ChunkResult:
    offset: int
    complete: bool


def append_chunk(
    session: UploadSession,
    offset: int,
    body: RequestBody | Callable[[int], bytes],
    length: int | None,
) -> ChunkResult:
    """Append a request body at `offset`, writing each block as it arrives.

    `body` is what `request_body(request)` returns (or a `read(n)` callable, which returns up to
    n bytes and b"" at the end). A dropped connection ends early: what arrived is kept and the
    next request resumes from there. `body` is always closed; a refused request reads none of
    it, so its server drains or drops the body and the connection stays in step.
    """
    if callable(body):
        body = _ReadBody(body)
    try:
        return _append(session, offset, body, length)
    finally:
        body.close()


def _append(
    session: UploadSession, offset: int, body: RequestBody, length: int | None
) -> ChunkResult:
    if session.state != UploadSession.State.RECEIVING:
        raise UploadRefused(f"This upload is {session.get_state_display().lower()}.", status=409)
    path = session.local_path
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        raise UploadRefused(DISCARDED, status=410) from None
    try:
        try:
            # One writer per session: a second tab or a retried request must wait its turn.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadRefused(
                "Another request is writing this upload.", status=409, offset=None
            ) from None
        held = os.fstat(fd).st_size
        if offset != held:
            raise UploadRefused(f"The server has {held} bytes.", status=409, offset=held)
        remaining = session.size_bytes - held
        if length is not None and length > remaining:
            raise UploadRefused(
                f"The chunk goes past the declared size ({session.size_bytes} bytes).", status=413
            )
        hasher = _hasher_for(session)
        hasher.advance(held)  # catches up from disk if earlier chunks went to another process
        written = held
        try:
            written = _pump(fd, body, hasher, held, remaining)
        finally:
            hasher.advance(written)
            # One small write per chunk (not per block): the list pages show this progress.
            UploadSession.objects.filter(pk=session.pk).update(received_bytes=written)
            session.received_bytes = written
    except UploadRefused as exc:
        if exc.status == 415:
            fail_session(session, str(exc))
        raise
    finally:
        os.close(fd)
    complete = written == session.size_bytes
    if complete:
        finish_session(session, hasher=hasher)
    return ChunkResult(offset=written, complete=complete)


def _pump(fd: int, body: RequestBody, hasher: _FileHasher, at: int, room: int) -> int:
    """Copy the body into `fd` from offset `at` (at most `room` bytes); return the new offset."""
    end = at + room
    while at < end:
        n = body.copy_into(fd, at, min(READ_BLOCK, end - at))
        if not n:
            break
        before, at = at, at + n
        _check_signature_once(fd, before, at)
        hasher.advance(at)
    if body.has_more():
        raise UploadRefused("The chunk goes past the declared size.", status=413)
    return at


# --- reading request bodies ----------------------------------------------------------------------
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
        _pwrite_all(fd, memoryview(block), at)
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
                _pwrite_all(fd, self.ahead[:n], at)
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
        _pwrite_all(fd, self.buffer[:n], at)
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


def _pwrite_all(fd: int, view: memoryview, at: int) -> None:
    while view:
        n = os.pwrite(fd, view, at)
        view, at = view[n:], at + n


def _grow_pipe(fd: int) -> int:
    """Make a pipe hold READ_BLOCK bytes if the system allows; return its capacity."""
    try:
        return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, READ_BLOCK)
    except (OSError, AttributeError):
        return 65536


def fail_session(session: UploadSession, message: str) -> None:
    """Refuse the upload for good: drop its bytes and mark its image failed."""
    _drop_hasher(session)
    # Only a session still receiving: an aborted one keeps its state (its image is gone).
    claimed = UploadSession.objects.filter(
        pk=session.pk, state=UploadSession.State.RECEIVING
    ).update(state=UploadSession.State.FAILED, error=message)
    if not claimed:
        return
    session.local_path.unlink(missing_ok=True)
    session.state = UploadSession.State.FAILED
    if session.iso_id:
        IsoImage.objects.filter(pk=session.iso_id).update(
            state=IsoImage.State.FAILED, error=message
        )


ALREADY_RECEIVED = (
    "This upload is already complete; the panel is copying it to the host. "
    "Cancel the copy job on the image's page instead."
)


def abort_session(session: UploadSession) -> None:
    """Discard a session the user gave up on; its image row goes too (nothing reached the host).

    Only a session still receiving can be discarded: once complete, its file belongs to the
    copy job (UploadRefused, 409).
    """
    claimed = UploadSession.objects.filter(
        pk=session.pk, state=UploadSession.State.RECEIVING
    ).update(state=UploadSession.State.ABORTED)
    _drop_hasher(session)
    if not claimed:
        state = UploadSession.objects.filter(pk=session.pk).values_list("state", flat=True)
        if state.first() == UploadSession.State.COMPLETE:
            raise UploadRefused(ALREADY_RECEIVED, status=409)
        return  # failed or aborted already: nothing left to discard
    session.state = UploadSession.State.ABORTED
    session.local_path.unlink(missing_ok=True)
    if session.iso_id:
        IsoImage.objects.filter(pk=session.iso_id, state=IsoImage.State.UPLOADING).delete()


def finish_session(
    session: UploadSession, digest: str = "", hasher: _FileHasher | None = None
) -> None:
    """Check the complete file, record its SHA-256 and queue the copy to the host.

    `digest` is the file's SHA-256 when the caller has it already (the multipart form);
    `hasher` the one that hashed the chunks so far (append_chunk). Raises UploadRefused if the
    session was aborted meanwhile (410) or the file is not an ISO image (415).
    """
    try:
        _finish(session, digest, hasher)
    except FileNotFoundError:
        # Cancelled while its last chunk arrived: abort_session unlinked the file.
        _drop_hasher(session)
        raise UploadRefused(DISCARDED, status=410) from None


def _finish(session: UploadSession, digest: str, hasher: _FileHasher | None) -> None:
    from storage.jobs.isos import queue_upload

    path = session.local_path
    if session.size_bytes < ISO_MIN_BYTES or not has_iso_signature(path):
        fail_session(session, NOT_AN_ISO)
        raise UploadRefused(NOT_AN_ISO, status=415)
    if not digest:
        # Usually all but the last block is hashed by now; this waits for the rest.
        hasher = hasher or _hasher_for(session)
        digest = hasher.digest(session.size_bytes) or file_sha256(path)
    _drop_hasher(session)
    with transaction.atomic():
        claimed = UploadSession.objects.filter(
            pk=session.pk, state=UploadSession.State.RECEIVING
        ).update(
            state=UploadSession.State.COMPLETE, sha256=digest, received_bytes=session.size_bytes
        )
        if not claimed:
            state = UploadSession.objects.filter(pk=session.pk).values_list("state", flat=True)
            if state.first() == UploadSession.State.COMPLETE:
                return  # another request finished it already
            raise UploadRefused(DISCARDED, status=410)  # aborted (or refused) meanwhile
        session.state, session.sha256 = UploadSession.State.COMPLETE, digest
        iso = IsoImage.objects.select_related("host").get(pk=session.iso_id)
        IsoImage.objects.filter(pk=iso.pk).update(
            state=IsoImage.State.TRANSFERRING, sha256=digest, size_bytes=session.size_bytes
        )
        queue_upload(iso, session, session.owner)


# --- the plain multipart form --------------------------------------------------------------------
class StreamedIsoFile(UploadedFile):
    """An upload already on disk in UPLOAD_DIR, with the SHA-256 computed while it arrived."""

    def __init__(self, file: IO[bytes], name: str, size: int, sha256: str, path: str) -> None:
        super().__init__(file, name, "application/octet-stream", size)
        self.sha256 = sha256
        self.path = path

    def temporary_file_path(self) -> str:
        return self.path


class StreamingIsoHandler(FileUploadHandler):
    """Write the `file` field of a multipart upload straight to UPLOAD_DIR, hashing it.

    Set on `request.upload_handlers` before the body is read. Refuses files over the size limit
    and files whose bytes at 32769 are not 'CD001' as soon as those bytes arrive, and any file
    but one in the `file` field. `upload_interrupted()` removes every file it wrote.
    """

    chunk_size = READ_BLOCK
    FIELD = "file"

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.error = ""
        self.path = ""
        self.fh: IO[bytes] | None = None
        self.created: list[tuple[IO[bytes], str]] = []  # every file written, for the cleanup

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        if field_name != self.FIELD or self.created:
            self._stop("Send one ISO file, in the 'file' field.")
        super().new_file(field_name, file_name, *args, **kwargs)
        fd, self.path = tempfile.mkstemp(prefix="form-", suffix=".part", dir=upload_dir())
        self.fh = os.fdopen(fd, "wb+")
        self.created.append((self.fh, self.path))
        self.hasher = hashlib.sha256()
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        assert self.fh is not None
        before = self.received
        self.fh.write(raw_data)
        self.hasher.update(raw_data)
        self.received += len(raw_data)
        if self.received > settings.ISO_UPLOAD_MAX_BYTES:
            self._stop(too_big_message())
        if before < ISO_MIN_BYTES <= self.received:
            self.fh.flush()
            if os.pread(self.fh.fileno(), len(ISO_MAGIC), ISO_MAGIC_OFFSET) != ISO_MAGIC:
                self._stop(NOT_AN_ISO)
        return None

    def _stop(self, message: str) -> None:
        self.error = message
        self.upload_interrupted()
        raise StopUpload(connection_reset=False)

    def file_complete(self, file_size: int) -> StreamedIsoFile | None:
        assert self.fh is not None
        self.fh.flush()
        self.fh.seek(0)
        return StreamedIsoFile(
            self.fh, self.file_name or "upload.iso", file_size, self.hasher.hexdigest(), self.path
        )

    def upload_interrupted(self) -> None:
        for fh, path in self.created:
            if not fh.closed:
                fh.close()
            Path(path).unlink(missing_ok=True)  # gone already if adopted by its session


def adopt_streamed_file(session: UploadSession, upload: StreamedIsoFile) -> None:
    """Make a form upload the complete body of `session`, then run the final checks."""
    upload.file.close()
    os.replace(upload.path, session.local_path)
    UploadSession.objects.filter(pk=session.pk).update(received_bytes=session.size_bytes)
    finish_session(session, digest=upload.sha256)
