"""Sizes as people type them into a form or the API: a bare number is in the field's unit (GiB).

`dom0.validate.size` reads sizes the way `zfs` does (a bare number is bytes, a fraction of a byte
is dropped) for building argv; this module is the one parser of the forms: `1.5` in a field
labelled GiB is 1.5 GiB, a unit suffix is honoured (K M G T P, also KB/KiB…, powers of 1024),
and a size that does not come to a whole number of bytes is refused, not rounded. ZFS rounds a
volume up to whole blocks (16K by default) itself.
"""

from __future__ import annotations

import re
from fractions import Fraction

from dom0.errors import ValidationError
from dom0.validate import MAX_SIZE, format_size

_RE = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<suffix>[A-Za-z]*)")
_SHIFTS = {letter: 10 * i for i, letter in enumerate("BKMGTP")}
_UNIT_NAMES = {"B": "bytes", "K": "KiB", "M": "MiB", "G": "GiB", "T": "TiB", "P": "PiB"}


def _rule(unit: str) -> str:
    return (
        f"must be a size such as 20, 1.5 or 1536M: a bare number is in "
        f"{_UNIT_NAMES[unit]}; suffixes K M G T (KiB MiB GiB TiB) are powers of 1024"
    )


def parse_size(
    value: object,
    field: str = "size",
    *,
    unit: str = "G",
    minimum: int = 1,
    maximum: int = MAX_SIZE,
) -> int:
    """Return `value` in bytes; a bare number (or an int) is in `unit` (default GiB).

    Refuses (with the field and the rule) a negative or empty size, an unknown suffix, a size
    that is not a whole number of bytes, and one outside `minimum`..`maximum`.
    """
    if isinstance(value, bool) or value is None:
        raise ValidationError(field, _rule(unit), value)
    if isinstance(value, int):
        amount, shift, text, letter = Fraction(value), _SHIFTS[unit], str(value), unit
    else:
        text = str(value).strip()
        match = _RE.fullmatch(text)
        if not match:
            raise ValidationError(field, _rule(unit), value)
        suffix = match["suffix"].upper()
        letter, rest = (suffix[:1] or unit), suffix[1:]
        if letter not in _SHIFTS or (rest and (letter == "B" or rest not in ("B", "IB"))):
            raise ValidationError(
                field, f"invalid size suffix '{match['suffix']}'; it {_rule(unit)}", value
            )
        if len(match["num"]) > 40:  # far past any size, and past Python's int-from-text limit
            raise ValidationError(field, f"must be at most {_human(maximum)}", value)
        amount, shift = Fraction(match["num"]), _SHIFTS[letter]
    nbytes = amount * (1 << shift)
    if nbytes.denominator != 1:
        raise ValidationError(
            field,
            f"{text} {_UNIT_NAMES[letter]} is not a whole number of bytes: a fraction of a byte "
            "is refused, not rounded",
            value,
        )
    size = int(nbytes)
    if size < minimum:
        raise ValidationError(field, f"must be at least {_human(minimum)}", value)
    if size > maximum:
        raise ValidationError(field, f"must be at most {_human(maximum)}", value)
    return size


def _human(nbytes: int) -> str:
    """`1048576 GiB (1P)` for whole GiB, else the zfs form (`512M`)."""
    if nbytes % (1 << 30) == 0:
        return f"{nbytes >> 30} GiB ({format_size(nbytes)})"
    return format_size(nbytes)
