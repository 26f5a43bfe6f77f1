"""ZFS dataset names, size strings and human-readable numbers (libzfs rules, facts §5)."""

from __future__ import annotations

import re

MAX_NAME_LEN = 256
VOLBLOCKSIZE = 16384
_SUFFIXES = "BKMGTPEZ"
_UINT64_MAX = 2**64 - 1


class ZfsValueError(Exception):
    """A refused name or size; str() is libzfs' description."""


def _valid_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "-_.: ")


def check_name(name: str, *, snapshots: bool = False) -> None:
    """Raise ZfsValueError with libzfs' message if `name` is not a valid dataset name."""
    if len(name) >= MAX_NAME_LEN:
        raise ZfsValueError("name is too long")
    if name.startswith("/"):
        raise ZfsValueError("leading slash in name")
    if name.endswith("/"):
        raise ZfsValueError("trailing slash in name")
    delimiters = [ch for ch in name if ch in "@#"]
    if len(delimiters) > 1:
        raise ZfsValueError("multiple '@' and/or '#' delimiters in name")
    if delimiters:
        base, tail = re.split(r"[@#]", name, maxsplit=1)
        components = [*base.split("/"), tail]
    else:
        components = name.split("/")
    for component in components:
        if component == "":
            raise ZfsValueError("empty component or misplaced '@' or '#' delimiter in name")
        bad = next((ch for ch in component if not _valid_char(ch)), None)
        if bad is not None:
            raise ZfsValueError(f"invalid character '{bad}' in name")
        if component == ".":
            raise ZfsValueError("self reference, '.' is found in name")
        if component == "..":
            raise ZfsValueError("parent reference, '..' is found in name")
    if delimiters and not snapshots:
        what = "snapshot" if delimiters[0] == "@" else "bookmark"
        raise ZfsValueError(f"{what} delimiter '{delimiters[0]}' is not expected here")


def _shift(suffix: str) -> int:
    if not suffix:
        return 0
    index = _SUFFIXES.find(suffix[0].upper())
    if index < 0:
        raise ZfsValueError(f"invalid numeric suffix '{suffix}'")
    rest = suffix[1:].upper()
    # 'G' = 'GB' = 'GiB', but 'BB' and 'BiB' are refused.
    if rest == "" or (index != 0 and rest in ("B", "IB")):
        return 10 * index
    raise ZfsValueError(f"invalid numeric suffix '{suffix}'")


def parse_size(text: str) -> int:
    """Read a size like zfs_nicestrtonum: `1.5G`, `1536M`, `20GiB`, `16k`; powers of 1024."""
    if not text or not (text[0].isdigit() or text[0] == "."):
        raise ZfsValueError(f"bad numeric value '{text}'")
    match = re.match(r"\d*", text)
    assert match is not None
    end = match.end()
    if end < len(text) and text[end] == ".":
        frac = re.match(r"\d*\.\d*(?:[eE][+-]?\d+)?", text)
        assert frac is not None
        try:
            fval = float(frac.group())
        except ValueError as exc:
            raise ZfsValueError(f"bad numeric value '{text}'") from exc
        fval *= 2 ** _shift(text[frac.end() :])
        if fval > _UINT64_MAX:
            raise ZfsValueError("numeric value is too large")
        return int(fval)
    number = int(text[:end])
    shift = _shift(text[end:])
    if shift >= 64 or number > _UINT64_MAX or (number << shift) > _UINT64_MAX:
        raise ZfsValueError("numeric value is too large")
    return number << shift


def round_up(size: int, block: int = VOLBLOCKSIZE) -> int:
    return -(-size // block) * block


def nicenum(num: int) -> str:
    """Format bytes like zfs_nicenum: 512, 16K, 1.50G, 20.0G."""
    index, n = 0, num
    while n >= 1024 and index < 6:
        n //= 1024
        index += 1
    unit = " KMGTPE"[index]
    if index == 0:
        return str(n)
    if num % (1 << (10 * index)) == 0:
        return f"{n}{unit}"
    value = num / (1 << (10 * index))
    text = f"{value:.0f}{unit}"
    for digits in (2, 1, 0):
        text = f"{value:.{digits}f}{unit}"
        if len(text) <= 5:
            return text
    return text
