"""What every validator starts with: text, a whole number, a pattern that must match."""

from __future__ import annotations

import re

from dom0.errors import ValidationError


def text(value: object, field: str) -> str:
    """Return `value` stripped, refusing anything that is not a string."""
    if not isinstance(value, str):
        raise ValidationError(field, "must be text", value)
    return value.strip()


def match(pattern: re.Pattern[str], value: object, field: str, rule: str) -> str:
    """Return `value` (stripped) if all of it matches `pattern`, else refuse it with `rule`."""
    stripped = text(value, field)
    if not pattern.fullmatch(stripped):
        raise ValidationError(field, rule, value)
    return stripped


def whole_number(value: object, field: str) -> int:
    """Return an int from an int or a string of ASCII digits (never a bool)."""
    if isinstance(value, bool):
        raise ValidationError(field, "must be a whole number", value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return int(value.strip())
    raise ValidationError(field, "must be a whole number", value)
