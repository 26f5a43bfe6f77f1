"""Job kinds: a name and the function that runs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hosts.jobs.context import JobContext

Handler = Callable[["JobContext"], str | None]

_HANDLERS: dict[str, Handler] = {}


def job_kind(name: str) -> Callable[[Handler], Handler]:
    """Register a job handler under `name`. A handler returns a short summary or None."""

    def register(func: Handler) -> Handler:
        _HANDLERS[name] = func
        return func

    return register


def get_handler(name: str) -> Handler:
    try:
        return _HANDLERS[name]
    except KeyError:
        raise LookupError(f"unknown job kind {name!r}") from None


def kinds() -> list[str]:
    return sorted(_HANDLERS)
