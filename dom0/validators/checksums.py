"""SHA-256/SHA-512 digests and the checksum lines and files that carry them."""

from __future__ import annotations

import re

from dom0.errors import ValidationError
from dom0.validators.base import text as as_text

_HEX_RE = re.compile(r"[0-9a-fA-F]+")
_BSD_SUM_RE = re.compile(r"(?P<algo>SHA256|SHA512) \((?P<file>.+)\) = (?P<hex>[0-9a-fA-F]+)")
_GNU_SUM_RE = re.compile(r"(?P<hex>[0-9a-fA-F]+) [ *](?P<file>.+)")
_HEX_LEN = {64: "sha256", 128: "sha512"}


def _hex(value: object, field: str, length: int, algo: str) -> str:
    digest = as_text(value, field)
    if len(digest) != length or not _HEX_RE.fullmatch(digest):
        raise ValidationError(field, f"must be a {algo.upper()} digest: {length} hex digits", value)
    return digest.lower()


def sha256_hex(value: object, field: str = "sha256") -> str:
    """Return a lowercase SHA-256 hex digest."""
    return _hex(value, field, 64, "sha256")


def sha512_hex(value: object, field: str = "sha512") -> str:
    """Return a lowercase SHA-512 hex digest."""
    return _hex(value, field, 128, "sha512")


def checksum_spec(
    text: object, field: str = "checksum", *, file: str | None = None
) -> tuple[str, str]:
    """Return `(algo, hexdigest)` from a bare digest, a BSD `SHA256 (f) = hex` or a `hex  f` line.

    With `file`, `text` may be a whole CHECKSUM file and the line for that file is picked.
    """
    lines = [line.strip() for line in as_text(text, field).splitlines() if line.strip()]
    rule = (
        "must be a SHA-256 or SHA-512 hex digest, a line like 'SHA256 (file.iso) = …' or a "
        "line like '…  file.iso'"
    )
    candidates: list[tuple[str, str]] = []
    for line in lines:
        if found := _BSD_SUM_RE.fullmatch(line):
            algo = found["algo"].lower()
            digest = _hex(found["hex"], field, 64 if algo == "sha256" else 128, algo)
            candidates.append((found["file"], digest))
        elif found := _GNU_SUM_RE.fullmatch(line):
            candidates.append((found["file"], found["hex"]))
        elif _HEX_RE.fullmatch(line):
            candidates.append(("", line))
        else:
            raise ValidationError(field, rule, text)
    if file is not None:
        candidates = [c for c in candidates if c[0] in (file, "")]
    if len(candidates) != 1:
        if not candidates:
            raise ValidationError(field, rule if not lines else f"has no line for '{file}'")
        raise ValidationError(field, "must hold exactly one checksum", text)
    digest = candidates[0][1]
    algo = _HEX_LEN.get(len(digest))
    if algo is None:
        raise ValidationError(field, rule, text)
    return algo, _hex(digest, field, len(digest), algo)
