"""`{% load units %}`: sizes on every page in binary units (`512 MiB`, `2 GiB`), never MB/GB.

It lives in the lowest Django room so that the templates of every room can load it; the
formatting itself is pure (`dom0.units`), shared with job messages.
"""

from __future__ import annotations

from django import template

from dom0.units import binary_size, mib_size

register = template.Library()


@register.filter(name="bytes")
def bytes_filter(value: int | float | None) -> str:
    """`{{ volume.size_bytes|bytes }}` → `20 GiB`; replaces `filesizeformat` (which says GB)."""
    return binary_size(value)


@register.filter(name="mib")
def mib_filter(value: int | float | None) -> str:
    """`{{ domain.memory_mb|mib }}` → `512 MiB`, `2 GiB`: a figure xl counts in MiB."""
    return mib_size(value)
