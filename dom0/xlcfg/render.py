"""Write xl.cfg(5) text: the handbook's layout, strings quoted so that libxlu reads them back."""

from __future__ import annotations

import re
from collections.abc import Mapping

from dom0.xlcfg.syntax import _ESCAPES, _IDENT_RE, LONG_MAX, Value

HEADER = "Managed by xenpanel — the panel rewrites this file; edit the domain in the panel."


# --- render ------------------------------------------------------------------------------------

_SQ, _DQ = "'", '"'
_STRING_ESCAPES = {v: k for k, v in _ESCAPES.items() if k not in "\"'"}
_UNWRITABLE_RE = re.compile(r"[\x00-\x06\x0e-\x1f]")


def _quote(text: str, quote: str) -> str:
    if _UNWRITABLE_RE.search(text):
        raise ValueError(f"xl.cfg strings cannot hold control characters: {text!r}")
    out = []
    for ch in text:
        if ch == quote:
            out.append("\\" + quote)
        elif ch in _STRING_ESCAPES:
            out.append("\\" + _STRING_ESCAPES[ch])
        else:
            out.append(ch)
    return quote + "".join(out) + quote


def _render_value(value: Value, quote: str) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        if not 0 <= value <= LONG_MAX:
            raise ValueError(f"xl.cfg numbers must be from 0 to {LONG_MAX}: {value}")
        return str(value)
    if isinstance(value, str):
        return _quote(value, quote)
    if isinstance(value, list):
        return "[" + ", ".join(_render_value(v, "'") for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} in xl.cfg")


def render(settings: Mapping[str, Value], *, header: str | None = HEADER) -> str:
    """Render settings in the handbook's layout; lists one item per line, single-quoted."""
    lines = [f"# {header}"] if header else []
    for key, value in settings.items():
        if not isinstance(key, str) or not _IDENT_RE.fullmatch(key):
            raise ValueError(f"xl.cfg keys must match [a-z][._0-9a-z]*: {key!r}")
        if isinstance(value, list) and value:
            lines.append(f"{key} = [")
            lines.extend(f"    {_render_value(item, _SQ)}," for item in value)
            lines.append("]")
        else:
            lines.append(f"{key} = {_render_value(value, _DQ)}")
    return "\n".join(lines) + "\n"


def plain(value: str, what: str) -> str:
    if "," in value or value != value.strip() or "\n" in value or "=" in value:
        raise ValueError(f"disk {what} cannot contain ',', '=', newlines or edge spaces: {value!r}")
    return value
