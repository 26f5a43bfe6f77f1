"""`{% snapshot_card domain request.user as snap %}`: the domU page's snapshot card context."""

from __future__ import annotations

from typing import Any

from django import template

from domains.models import Domain
from domains.snapshots.context import card_context

register = template.Library()


@register.simple_tag
def snapshot_card(domain: Domain, user: Any) -> dict[str, Any]:
    return card_context(domain, user)
