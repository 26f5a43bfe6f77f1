"""The plain HTML upload form (no JavaScript): the whole file as multipart, streamed to disk."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from storage.upload_files import (
    ISO_MAGIC,
    ISO_MAGIC_OFFSET,
    ISO_MIN_BYTES,
    NOT_AN_ISO,
    READ_BLOCK,
    too_big_message,
    upload_dir,
)


class StreamedIsoFile(UploadedFile):
    """An upload already on disk in UPLOAD_DIR, with the SHA-256 computed while it arrived."""

    # Always made with its file open and its size known (UploadedFile allows None for both).
    file: IO[bytes]
    size: int

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
