"""The files of ISO uploads: where they are written, and the checks on them (the ISO 9660
signature, the size limit, SHA-256), with the refusals an upload answers."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from django.conf import settings

from dom0.units import binary_size

#: ISO 9660: the primary volume descriptor starts at sector 16 (byte 32768) with type byte 1,
#: then the standard identifier "CD001".
ISO_MAGIC = b"CD001"
ISO_MAGIC_OFFSET = 32769
ISO_MIN_BYTES = ISO_MAGIC_OFFSET + len(ISO_MAGIC)
READ_BLOCK = 1024 * 1024

DISCARDED = "This upload was discarded; start it again."
NOT_AN_ISO = (
    "This is not an ISO 9660 image (no 'CD001' at byte 32769). Upload the installer .iso file, "
    "not a compressed .xz/.gz file or a USB .img."
)
ALREADY_RECEIVED = (
    "This upload is already complete; the panel is copying it to the host. "
    "Cancel the copy job on the image's page instead."
)


class UploadRefused(Exception):
    """The upload cannot go on; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, offset: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.offset = offset


def upload_dir() -> Path:
    path = Path(settings.UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def too_big_message() -> str:
    limit = binary_size(settings.ISO_UPLOAD_MAX_BYTES)
    return f"The file is larger than the upload limit ({limit}, setting ISO_UPLOAD_MAX_BYTES)."


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


def check_signature_once(fd: int, before: int, after: int) -> None:
    """Refuse as soon as the bytes where 'CD001' belongs have arrived (not after 4 GiB)."""
    if before < ISO_MIN_BYTES <= after:
        if os.pread(fd, len(ISO_MAGIC), ISO_MAGIC_OFFSET) != ISO_MAGIC:
            raise UploadRefused(NOT_AN_ISO, status=415)
