"""What the CLI prints: an aligned table (lists), `key: value` lines (one object), or JSON.

Pure functions of the data, so the tests check them without a server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Getter = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Column:
    header: str
    get: str | Getter  # a key (dotted for nested objects) or a function of the row
    align: str = "<"  # ">" for numbers

    def value(self, row: dict[str, Any]) -> str:
        if callable(self.get):
            value = self.get(row)
        else:
            value = dig(row, self.get)
        return text(value)


def dig(row: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(row, dict):
            return None
        row = row.get(part)
    return row


def text(value: Any) -> str:
    """One cell: `-` for nothing, yes/no for booleans, lists comma-joined, one line always."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        joiner = "; " if any(isinstance(v, dict) for v in value) else ", "
        return joiner.join(text(v) for v in value) or "-"
    if isinstance(value, dict):  # a nested object: `key=value` pairs on the one line
        return " ".join(f"{k}={text(v)}" for k, v in value.items())
    return " ".join(str(value).split())


def size(value: Any) -> str:
    """Bytes in binary units, as the pages show them (1.5 GiB)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return text(value)
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def table(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> str:
    """An aligned table with a header line; columns two spaces apart; no trailing blanks."""
    cells = [[c.header for c in columns]]
    cells += [[c.value(row) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = []
    for line in cells:
        parts = [
            f"{cell:{col.align}{width}}"
            for cell, col, width in zip(line, columns, widths, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def fields(obj: dict[str, Any], keys: Sequence[tuple[str, str | Getter]] | None = None) -> str:
    """One object as aligned `label: value` lines (every key when `keys` is None)."""
    pairs = keys or [(k, k) for k in obj]
    labels = [label for label, _ in pairs]
    width = max((len(label) for label in labels), default=0)
    lines = []
    for label, get in pairs:
        value = get(obj) if callable(get) else dig(obj, get)
        lines.append(f"{label + ':':<{width + 1}} {text(value)}".rstrip())
    return "\n".join(lines)


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str)


def progress_line(job: dict[str, Any]) -> str:
    """How a followed job reads on stderr: `[ 40%] running  Creating web1 on xen1: …`."""
    pct = job.get("progress")
    pct_text = f"{pct:>3}%" if isinstance(pct, int) else "  ?%"
    message = text(job.get("message") or job.get("title"))
    return f"[{pct_text}] {text(job.get('status')):<9} {message}"


def bar(done: int, total: int, width: int = 30) -> str:
    """`[=========>          ]  45%  1.2 GiB/2.7 GiB` for an upload."""
    share = done / total if total else 1.0
    filled = int(share * width)
    arrow = ">" if filled < width else ""
    body = "=" * filled + arrow + " " * (width - filled - len(arrow))
    return f"[{body}] {share * 100:3.0f}%  {size(done)}/{size(total)}"
