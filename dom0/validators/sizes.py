"""Sizes the way `zfs` reads them (for argv), memory in MiB and vCPU counts."""

from __future__ import annotations

import re

from dom0.errors import ValidationError
from dom0.validators.base import text, whole_number

_SIZE_RE = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?P<suffix>[A-Za-z]*)")
_SHIFTS = {letter: 10 * i for i, letter in enumerate("BKMGTPEZ")}
#: 1 PiB: far beyond any domU disk, and it keeps a typo like `20P` from reaching a host. ZFS takes
#: a volsize up to 2^63 - 1 and the panel's size columns are 64-bit signed, so this bound is the
#: panel's policy, well inside both (and a multiple of every volblocksize).
MAX_SIZE = 1 << 50
_SIZE_RULE = "must be a size such as 20G, 1536M or 1.5T (suffixes B K M G T P, powers of 1024)"


def _shift(suffix: str, field: str, value: object) -> int:
    if suffix == "":
        return 0
    upper = suffix.upper()
    letter, rest = upper[0], upper[1:]
    if letter not in _SHIFTS or (rest and (letter == "B" or rest not in ("B", "IB"))):
        raise ValidationError(field, f"invalid size suffix '{suffix}'; {_SIZE_RULE}", value)
    return _SHIFTS[letter]


def size(value: object, field: str = "size", *, maximum: int = MAX_SIZE) -> int:
    """Return a size in bytes, read with `zfs_nicestrtonum` rules (an int is taken as bytes)."""
    if isinstance(value, bool):
        raise ValidationError(field, _SIZE_RULE, value)
    if isinstance(value, int):
        number = value
    else:
        found = _SIZE_RE.fullmatch(text(value, field))
        if not found:
            raise ValidationError(field, _SIZE_RULE, value)
        shift = _shift(found["suffix"], field, value)
        num = found["num"]
        if len(num) > 40:  # far past any size (and past Python's int-from-text digit limit)
            raise ValidationError(field, f"must be at most {format_size(maximum)}", value)
        if "." in num:
            whole, _, frac = num.partition(".")
            # Exact arithmetic; zfs uses a double and truncates, which this matches for sane sizes.
            scale = 10 ** len(frac)
            number = (int(whole or "0") * scale + int(frac or "0")) * (1 << shift) // scale
        else:
            number = int(num) << shift
    if number <= 0:
        raise ValidationError(field, "must be greater than zero", value)
    if number > maximum:
        raise ValidationError(field, f"must be at most {format_size(maximum)}", value)
    return number


def format_size(nbytes: int) -> str:
    """Return the shortest exact integer zfs size for `nbytes`, e.g. `20G`, `1536M`, `1000`."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes <= 0:
        raise ValueError(f"size must be a positive int, got {nbytes!r}")
    for letter in "EPTGMK":
        shift = _SHIFTS[letter]
        if nbytes % (1 << shift) == 0:
            return f"{nbytes >> shift}{letter}"
    return str(nbytes)


#: HVM guests with less than this do not get far enough to install anything.
MIN_MEMORY_MB = 32
#: 16 TiB in MiB: the x86 host RAM limit in Xen's SUPPORT.md; no domU gets more than its host has.
#: It fits the panel's memory columns (32-bit signed, in MiB) with room to spare.
MAX_MEMORY_MB = 16 << 20
#: Xen's HVM_MAX_VCPUS (public/hvm/hvm_info_table.h): an HVM domU cannot have more vCPUs.
MAX_VCPUS = 128


def memory_mb(value: object, maximum: int = MAX_MEMORY_MB, field: str = "memory") -> int:
    """Return a domU memory size in MiB between MIN_MEMORY_MB and `maximum` (<= MAX_MEMORY_MB)."""
    maximum = min(maximum, MAX_MEMORY_MB)
    number = whole_number(value, field)
    if number < MIN_MEMORY_MB:
        raise ValidationError(field, f"must be at least {MIN_MEMORY_MB} MiB", value)
    if number > maximum:
        why = " (16 TiB, the most Xen supports on x86)" if maximum == MAX_MEMORY_MB else ""
        raise ValidationError(field, f"must be at most {maximum} MiB{why}", value)
    return number


def vcpus(value: object, maximum: int = MAX_VCPUS, field: str = "vcpus") -> int:
    """Return a vCPU count between 1 and `maximum` (at most MAX_VCPUS)."""
    maximum = min(maximum, MAX_VCPUS)
    number = whole_number(value, field)
    if number < 1:
        raise ValidationError(field, "must be at least 1", value)
    if number > maximum:
        why = " (Xen's limit for an HVM domU)" if maximum == MAX_VCPUS else ""
        raise ValidationError(field, f"must be at most {maximum}{why}", value)
    return number
