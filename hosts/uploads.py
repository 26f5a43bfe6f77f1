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
import queue
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction

from hosts.models import IsoImage, UploadSession

#: ISO 9660: the primary volume descriptor starts at sector 16 (byte 32768) with type byte 1,
#: then the standard identifier "CD001".
ISO_MAGIC = b"CD001"
ISO_MAGIC_OFFSET = 32769
ISO_MIN_BYTES = ISO_MAGIC_OFFSET + len(ISO_MAGIC)
READ_BLOCK = 1024 * 1024

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
# hashlib objects cannot be stored in the DB, so each process keeps the running hash of the
# sessions it is receiving. A chunk that lands in another process (or after a restart) finds no
# hash at its offset; the final step then hashes the file from disk once instead.
_HASHERS: dict[str, tuple[int, Any]] = {}
_HASHERS_LOCK = threading.Lock()


def _take_hasher(key: str, offset: int) -> Any | None:
    with _HASHERS_LOCK:
        entry = _HASHERS.pop(key, None)
    if offset == 0:
        return hashlib.sha256()
    if entry is not None and entry[0] == offset:
        return entry[1]
    return None


def _keep_hasher(key: str, offset: int, hasher: Any | None) -> None:
    if hasher is not None:
        with _HASHERS_LOCK:
            _HASHERS[key] = (offset, hasher)


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
    from hosts.models.storage import human_bytes

    limit = human_bytes(settings.ISO_UPLOAD_MAX_BYTES)
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
    session: UploadSession, offset: int, read: Callable[[int], bytes], length: int | None
) -> ChunkResult:
    """Append a request body at `offset`, writing each block as it arrives.

    `read(n)` returns up to n bytes and b"" at the end (a dropped connection ends early: what
    arrived is kept and the next request resumes from there).
    """
    if session.state != UploadSession.State.RECEIVING:
        raise UploadRefused(f"This upload is {session.get_state_display().lower()}.", status=409)
    path = session.local_path
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        raise UploadRefused("This upload was discarded; start it again.", status=410) from None
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
        key = str(session.code)
        hasher = _take_hasher(key, held)
        written = held
        try:
            written = _pump(fd, read, hasher, held, remaining)
        finally:
            _keep_hasher(key, written, hasher)
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
        finish_session(session)
    return ChunkResult(offset=written, complete=complete)


def _pump(fd: int, read: Callable[[int], bytes], hasher: Any | None, at: int, room: int) -> int:
    """Copy blocks from `read` to `fd` from offset `at`; return the new offset.

    The SHA-256 runs in a helper thread fed through a short queue: hashlib, recv() and write()
    all release the GIL, so on two cores hashing overlaps the network and the disk.
    """
    os.lseek(fd, at, os.SEEK_SET)
    end = at + room
    feeder = _HashFeeder(hasher) if hasher is not None else None
    try:
        while at < end:
            block = read(min(READ_BLOCK, end - at))
            if not block:
                break
            view = memoryview(block)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            if feeder is not None:
                feeder.put(block)
            before, at = at, at + len(block)
            _check_signature_once(fd, before, at)
    finally:
        if feeder is not None:
            feeder.close()
    if read(1):
        raise UploadRefused("The chunk goes past the declared size.", status=413)
    return at


class _HashFeeder:
    """Update a hash in a helper thread; at most `depth` blocks wait (bounded memory)."""

    def __init__(self, hasher: Any, depth: int = 4) -> None:
        self.hasher = hasher
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (block := self.queue.get()) is not None:
            self.hasher.update(block)

    def put(self, block: bytes) -> None:
        self.queue.put(block)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()


def fail_session(session: UploadSession, message: str) -> None:
    """Refuse the upload for good: drop its bytes and mark its image failed."""
    session.local_path.unlink(missing_ok=True)
    UploadSession.objects.filter(pk=session.pk).update(
        state=UploadSession.State.FAILED, error=message
    )
    session.state = UploadSession.State.FAILED
    if session.iso_id:
        IsoImage.objects.filter(pk=session.iso_id).update(
            state=IsoImage.State.FAILED, error=message
        )


def abort_session(session: UploadSession) -> None:
    """Discard a session the user gave up on; its image row goes too (nothing reached the host)."""
    session.local_path.unlink(missing_ok=True)
    UploadSession.objects.filter(pk=session.pk).update(state=UploadSession.State.ABORTED)
    if session.iso_id:
        IsoImage.objects.filter(pk=session.iso_id, state=IsoImage.State.UPLOADING).delete()


def finish_session(session: UploadSession) -> None:
    """Check the complete file, record its SHA-256 and queue the copy to the host."""
    from hosts.jobs.isos import queue_upload

    path = session.local_path
    if session.size_bytes < ISO_MIN_BYTES or not has_iso_signature(path):
        fail_session(session, NOT_AN_ISO)
        raise UploadRefused(NOT_AN_ISO, status=415)
    key = str(session.code)
    hasher = _take_hasher(key, session.size_bytes)
    digest = hasher.hexdigest() if hasher is not None else file_sha256(path)
    with transaction.atomic():
        claimed = UploadSession.objects.filter(
            pk=session.pk, state=UploadSession.State.RECEIVING
        ).update(
            state=UploadSession.State.COMPLETE, sha256=digest, received_bytes=session.size_bytes
        )
        if not claimed:
            return  # another request finished it already
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
    and files whose bytes at 32769 are not 'CD001' as soon as those bytes arrive.
    """

    chunk_size = READ_BLOCK

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        fd, self.path = tempfile.mkstemp(prefix="form-", suffix=".part", dir=upload_dir())
        self.fh = os.fdopen(fd, "wb+")
        self.hasher = hashlib.sha256()
        self.received = 0
        self.error = ""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
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
        self.fh.flush()
        self.fh.seek(0)
        return StreamedIsoFile(
            self.fh, self.file_name or "upload.iso", file_size, self.hasher.hexdigest(), self.path
        )

    def upload_interrupted(self) -> None:
        fh = getattr(self, "fh", None)
        if fh is not None and not fh.closed:
            fh.close()
        path = getattr(self, "path", "")
        if path:
            Path(path).unlink(missing_ok=True)


def adopt_streamed_file(session: UploadSession, upload: StreamedIsoFile) -> None:
    """Make a form upload the complete body of `session`, then run the final checks."""
    upload.file.close()
    os.replace(upload.path, session.local_path)
    _keep_hasher(str(session.code), session.size_bytes, _Digest(upload.sha256))
    UploadSession.objects.filter(pk=session.pk).update(received_bytes=session.size_bytes)
    finish_session(session)


class _Digest:
    """A finished hash, for `finish_session` (it only asks for hexdigest)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def hexdigest(self) -> str:
        return self.value
