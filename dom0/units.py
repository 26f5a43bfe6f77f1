"""Sizes as people read them."""

from __future__ import annotations


def human_bytes(nbytes: int | None) -> str:
    """Return a size the way ZFS prints it, in powers of 1024: 20G, 1.5T, 512M."""
    if nbytes is None:
        return "—"
    value = float(nbytes)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if value < 1024 or unit == "P":
            text = f"{value:.1f}".rstrip("0").rstrip(".") if unit != "B" else str(int(value))
            return f"{text}{unit}" if unit != "B" else f"{text} B"
        value /= 1024
    return str(nbytes)  # pragma: no cover
