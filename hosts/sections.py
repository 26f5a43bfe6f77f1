"""Sections other apps add to the host page (the domUs on it, its storage), by registration.

The hosts app renders whatever is registered here and never imports the apps that register: a
section is a template and a function that returns its context for (request, host).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

    from hosts.models import Host

SectionContext = Callable[["HttpRequest", "Host"], dict[str, Any]]


@dataclass(frozen=True)
class Section:
    name: str
    template: str
    context: SectionContext
    order: int


_SECTIONS: dict[str, Section] = {}


def register_section(name: str, template: str, context: SectionContext, *, order: int) -> None:
    """Show `template` on every host page, rendered with `context(request, host)`."""
    _SECTIONS[name] = Section(name, template, context, order)


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda s: s.order)


def section_context(request: HttpRequest, host: Host) -> dict[str, Any]:
    """Return the merged context of every section, and the list of templates to include."""
    context: dict[str, Any] = {}
    for section in sections():
        context.update(section.context(request, host))
    context["host_sections"] = [s.template for s in sections()]
    return context
