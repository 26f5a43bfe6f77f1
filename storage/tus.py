"""The tus 1.0 protocol's headers (https://tus.io/protocols/resumable-upload): pure parsing.

The panel implements core, creation, checksum (sha256) and termination. What a request means
(sessions, size limits, quota, the ISO signature, the whole-file SHA-256) is storage.uploads';
the views are storage.api_uploads.
"""

from __future__ import annotations

import base64
import binascii
import re

VERSION = "1.0.0"
EXTENSIONS = "creation,checksum,termination"
CHECKSUM_ALGORITHMS = "sha256"
#: The body type of a PATCH (tus core).
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
#: "Checksum Mismatch": the status tus gives a chunk whose Upload-Checksum does not match.
CHECKSUM_MISMATCH_STATUS = 460

_KEY = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # a token: no spaces, no commas


class TusError(Exception):
    """A request that breaks the protocol; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_version(value: str | None) -> None:
    """Every request but OPTIONS names the protocol version; only 1.0.0 is spoken here."""
    if value is None:
        raise TusError("Send the header Tus-Resumable: 1.0.0 (this is a tus 1.0 endpoint).", 412)
    if value.strip() != VERSION:
        raise TusError(f"Tus-Resumable {value.strip()!r} is not supported; use {VERSION}.", 412)


def parse_length(value: str | None, name: str) -> int:
    """A non-negative integer header (Upload-Length, Upload-Offset)."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise TusError(f"{name} must be a number of bytes (got {value!r}).")
    return int(text)


def parse_metadata(value: str | None) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64(value)` pairs (a key alone means "")."""
    result: dict[str, str] = {}
    for pair in (value or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, encoded = pair.partition(" ")
        encoded = encoded.strip()
        if not _KEY.match(key) or " " in encoded:
            raise TusError(f"Upload-Metadata: {pair[:60]!r} is not 'key base64value'.")
        if key in result:
            raise TusError(f"Upload-Metadata: {key!r} is given twice.")
        try:
            result[key] = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise TusError(f"Upload-Metadata: the value of {key!r} is not base64 UTF-8.") from None
    return result


def parse_checksum(value: str | None) -> bytes | None:
    """`Upload-Checksum: sha256 <base64 digest>` → the 32-byte digest; None without the header."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise TusError(
            f"Upload-Checksum algorithm {algorithm!r} is not supported; use sha256 "
            f"(Tus-Checksum-Algorithm: {CHECKSUM_ALGORITHMS})."
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 32:
        raise TusError("Upload-Checksum: the sha256 digest must be 32 bytes, base64-encoded.")
    return digest
