"""Receive ISO uploads: streamed to disk, hashed as they arrive, resumable after a dropped link.

The upload page, the API and bench/upload.py speak tus 1.0 (storage/api_uploads.py: POST
/api/v1/uploads/, then HEAD/PATCH/DELETE on the upload) over these same sessions; a PATCH with
`Upload-Checksum` is kept only if its SHA-256 matches (`append_chunk(checksum=...)`).

The older resumable protocol (still served; its tests use it):

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

This module holds the sessions and the hashing that spans their requests; beside it are the
files and their checks (`upload_files`), reading request bodies (`upload_bodies`) and the plain
form (`upload_form`). Everything is importable from here, as it always was.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404

from accounts import access, quotas
from storage.models import IsoImage, UploadSession
from storage.upload_bodies import BODY_IDLE_SECONDS, RequestBody, request_body
from storage.upload_bodies import _GunicornBody as _GunicornBody
from storage.upload_bodies import _ReadBody as _ReadBody
from storage.upload_files import (
    ALREADY_RECEIVED,
    DISCARDED,
    ISO_MAGIC,
    ISO_MAGIC_OFFSET,
    ISO_MIN_BYTES,
    NOT_AN_ISO,
    READ_BLOCK,
    UploadRefused,
    check_signature_once,
    file_sha256,
    has_iso_signature,
    too_big_message,
    upload_dir,
)
from storage.upload_form import StreamedIsoFile, StreamingIsoHandler

__all__ = [
    "ALREADY_RECEIVED",
    "BODY_IDLE_SECONDS",
    "CHECKSUM_MISMATCH",
    "DISCARDED",
    "HASHER_IDLE_SECONDS",
    "HASH_BLOCK",
    "ISO_MAGIC",
    "ISO_MAGIC_OFFSET",
    "ISO_MIN_BYTES",
    "NOT_AN_ISO",
    "READ_BLOCK",
    "ChunkResult",
    "RequestBody",
    "StreamedIsoFile",
    "StreamingIsoHandler",
    "UploadRefused",
    "abort_session",
    "adopt_streamed_file",
    "append_chunk",
    "create_session",
    "current_offset",
    "fail_session",
    "file_sha256",
    "finish_session",
    "has_iso_signature",
    "request_body",
    "session_for_user",
    "too_big_message",
    "upload_dir",
]

#: Blocks the hashing thread reads back from the page cache into one reused buffer, which stays
#: in the core's cache while it is hashed. Measured (docs/performance.md): cheaper than mapping
#: the file, whose page faults cost more than the copy; 256 KiB to 4 MiB blocks cost the same.
HASH_BLOCK = 1024 * 1024
#: A hashing thread with nothing to do for this long exits, and its session's hasher is forgotten.
HASHER_IDLE_SECONDS = 30.0
#: tus `Upload-Checksum` refusal (status 460, "Checksum Mismatch").
CHECKSUM_MISMATCH = (
    "The chunk's bytes do not match its Upload-Checksum; it was discarded. Send it again."
)


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


# --- sessions ------------------------------------------------------------------------------------
def session_for_user(user: Any, code: Any) -> UploadSession:
    """The upload `code` if `user` may see it: its owner or an admin (Http404 otherwise)."""
    qs = UploadSession.objects.select_related("iso", "iso__host").filter(code=code)
    if not access.is_admin(user):
        qs = qs.filter(owner=user)
    session = qs.first()
    if session is None:
        raise Http404("No such upload")
    return session


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
    checksum: bytes | None = None,
) -> ChunkResult:
    """Append a request body at `offset`, writing each block as it arrives.

    `body` is what `request_body(request)` returns (or a `read(n)` callable, which returns up to
    n bytes and b"" at the end). A dropped connection ends early: what arrived is kept and the
    next request resumes from there. `body` is always closed; a refused request reads none of
    it, so its server drains or drops the body and the connection stays in step.

    `checksum` is the SHA-256 the client gave for this chunk (tus `Upload-Checksum`): then the
    chunk is all or nothing. Its bytes are read back and hashed once it is in; if they differ
    (or the connection dropped mid-chunk) the file is cut back to `offset` and UploadRefused
    (460) is raised. The whole-file hash only moves past a chunk once it is verified.
    """
    if callable(body):
        body = _ReadBody(body)
    try:
        return _append(session, offset, body, length, checksum)
    finally:
        body.close()


def _append(
    session: UploadSession,
    offset: int,
    body: RequestBody,
    length: int | None,
    checksum: bytes | None = None,
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
            if checksum is None:
                written = _pump(fd, body, hasher, held, remaining)
            else:
                written = _pump_verified(fd, body, held, remaining, checksum)
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


def _pump_verified(fd: int, body: RequestBody, at: int, room: int, checksum: bytes) -> int:
    """Copy a chunk whose SHA-256 the client gave; keep it only if it matches (see append_chunk)."""
    try:
        written = _pump(fd, body, None, at, room)
        if not hmac.compare_digest(_range_sha256(fd, at, written), checksum):
            raise UploadRefused(CHECKSUM_MISMATCH, status=460, offset=at)
    except BaseException:
        os.ftruncate(fd, at)  # nothing of an unverified chunk stays
        raise
    return written


def _range_sha256(fd: int, start: int, end: int) -> bytes:
    """SHA-256 of bytes [start, end) of `fd` (just written: read back from the page cache)."""
    hasher = hashlib.sha256()
    buffer = memoryview(bytearray(READ_BLOCK))
    while start < end:
        got = os.preadv(fd, [buffer[: min(READ_BLOCK, end - start)]], start)
        if got <= 0:
            break
        hasher.update(buffer[:got])
        start += got
    return hasher.digest()


def _pump(fd: int, body: RequestBody, hasher: _FileHasher | None, at: int, room: int) -> int:
    """Copy the body into `fd` from offset `at` (at most `room` bytes); return the new offset."""
    end = at + room
    while at < end:
        n = body.copy_into(fd, at, min(READ_BLOCK, end - at))
        if not n:
            break
        before, at = at, at + n
        check_signature_once(fd, before, at)
        if hasher is not None:
            hasher.advance(at)
    if body.has_more():
        raise UploadRefused("The chunk goes past the declared size.", status=413)
    return at


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
        # A session without its image (pk 0: none) raises DoesNotExist, as it always did.
        iso = IsoImage.objects.select_related("host").get(pk=session.iso_id or 0)
        IsoImage.objects.filter(pk=iso.pk).update(
            state=IsoImage.State.TRANSFERRING, sha256=digest, size_bytes=session.size_bytes
        )
        queue_upload(iso, session, session.owner)


def adopt_streamed_file(session: UploadSession, upload: StreamedIsoFile) -> None:
    """Make a form upload the complete body of `session`, then run the final checks."""
    assert upload.file is not None  # the handler made it with its file open
    upload.file.close()
    os.replace(upload.path, session.local_path)
    UploadSession.objects.filter(pk=session.pk).update(received_bytes=session.size_bytes)
    finish_session(session, digest=upload.sha256)
