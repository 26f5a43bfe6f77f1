"""Who uses a volume or an ISO image, asked of the apps that use them (they register here).

Storage must not destroy a volume a domU's config names, nor delete an image a domU has in its
CD-ROM drive; it does not know domUs. The domains app registers a function per kind of object
that follows its own relations and returns why the object is in use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: A finder returns reasons the object is in use ("the domU web1 uses it as a disk"), or [].
Finder = Callable[[Any], list[str]]
_FINDERS: dict[str, list[Finder]] = {"volume": [], "iso": []}


def register(kind: str, finder: Finder) -> None:
    """Register `finder` for "volume" or "iso" objects."""
    _FINDERS[kind].append(finder)


def in_use(kind: str, obj: Any) -> str | None:
    """Return the first reason `obj` is in use, or None."""
    for finder in _FINDERS[kind]:
        reasons = finder(obj)
        if reasons:
            return reasons[0]
    return None
