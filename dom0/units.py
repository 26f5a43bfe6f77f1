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


_BINARY_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


def binary_size(nbytes: int | float | str | None) -> str:
    """Return a size for a page or a message in binary units: `512 MiB`, `1.5 GiB`, `2 GiB`.

    Every size the panel shows is a power-of-1024 quantity (xl's memory, ZFS volumes), so it
    is never written MB/GB, which people read as powers of 1000. A whole number of its unit is
    printed without a fraction; anything else with one decimal. A template hands "" for a
    missing value (and a number as text from a form): those are accepted too.
    """
    if nbytes is None or nbytes == "":
        return "—"
    value = float(nbytes)
    for unit in _BINARY_UNITS:
        # 1023.97 MiB would print as "1024.0 MiB": round first, then decide on the unit.
        if abs(round(value, 1)) < 1024 or unit == _BINARY_UNITS[-1]:
            if unit == "bytes" or value == int(value):
                return f"{int(value)} {unit}"
            return f"{value:.1f} {unit}"
        value /= 1024
    return str(nbytes)  # pragma: no cover


def mib_size(mib: int | float | str | None) -> str:
    """Return a MiB figure (xl's unit for memory) the way `binary_size` prints bytes."""
    if mib is None or mib == "":
        return "—"
    if not mib:
        return "0 MiB"  # not "0 bytes": the figure is a count of MiB
    return binary_size(float(mib) * (1 << 20))
