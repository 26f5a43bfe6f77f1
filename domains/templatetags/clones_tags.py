"""The template card of the domU page: make it a template, or where a clone comes from."""

from __future__ import annotations

from typing import Any

from django import template

from domains.clones import logic, promotion
from domains.models import Domain

register = template.Library()


@register.simple_tag(takes_context=True)
def clone_card(context: Any, domain: Domain) -> dict[str, Any]:
    """Return what the card shows: its clone volumes (with origins), whether it is stopped, and
    what a promote would do and whether this user may do it."""
    volumes = logic.clone_volumes(domain)
    found = promotion.effects(domain) if volumes else None
    user = context["request"].user
    return {
        "clone_volumes": volumes,
        "stopped": not domain.is_present and not domain.should_run,
        "ready": all(v.state == v.State.READY for v in volumes),
        "promote": found,
        "promote_refusal": promotion.refusal(user, found) if found else "",
    }
