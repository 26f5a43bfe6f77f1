"""The template card of the domU page: make it a template, or where a clone comes from."""

from __future__ import annotations

from typing import Any

from django import template

from domains.clones import logic
from domains.models import Domain

register = template.Library()


@register.simple_tag
def clone_card(domain: Domain) -> dict[str, Any]:
    """Return what the card shows: its clone volumes (with origins) and whether it is stopped."""
    volumes = logic.clone_volumes(domain)
    return {
        "clone_volumes": volumes,
        "stopped": not domain.is_present and not domain.should_run,
        "ready": all(v.state == v.State.READY for v in volumes),
    }
