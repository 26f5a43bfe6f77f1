"""Job kinds (a name and the function that runs it) and how a job reaches its targets' hosts.

Apps register their kinds in their own `jobs` module, which `JobsConfig.ready` imports with
`autodiscover_modules("jobs")`; the hosts app registers how to open a transport to a Host. This
app never imports the apps that register here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import Model

    from dom0.transport import Transport
    from jobs.context import JobContext

Handler = Callable[["JobContext"], str | None]
TransportFactory = Callable[[Any], "Transport"]

_HANDLERS: dict[str, Handler] = {}
_TRANSPORTS: dict[type, TransportFactory] = {}


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


def register_transport(model: type[Model], factory: TransportFactory) -> None:
    """Say how a job opens a transport to an object of `model` (the hosts app: to a Host)."""
    _TRANSPORTS[model] = factory


def transport_factory(obj: object) -> TransportFactory:
    for model in type(obj).__mro__:
        if model in _TRANSPORTS:
            return _TRANSPORTS[model]
    raise LookupError(f"no transport is registered for {type(obj).__name__}")


# --- how the jobs list filters and hides ------------------------------------------------------
@dataclass(frozen=True)
class TargetFilter:
    """A select on the jobs list: jobs with the chosen object (by its `code`) among targets."""

    param: str
    label: str
    model: type[Model]

    def choices(self) -> list[tuple[str, str]]:
        return [(str(o.code), str(o)) for o in self.model._default_manager.all()]  # type: ignore[attr-defined]


_FILTERS: dict[str, TargetFilter] = {}
_QUIET: set[str] = set()


def register_target_filter(param: str, label: str, model: type[Model]) -> None:
    _FILTERS[param] = TargetFilter(param, label, model)


def target_filters() -> list[TargetFilter]:
    return list(_FILTERS.values())


def register_quiet_kind(kind: str) -> None:
    """Hide a frequent scheduled kind from the jobs list unless the user asks for it."""
    _QUIET.add(kind)


def quiet_kinds() -> list[str]:
    return sorted(_QUIET)
