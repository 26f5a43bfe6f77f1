"""The migration card of the domU page: move it, and the source volumes a move left behind."""

from __future__ import annotations

from typing import Any

from django import template

from domains.migration.actions import superseded_volumes
from domains.models import Domain

register = template.Library()


@register.simple_tag
def migration_card(domain: Domain) -> dict[str, Any]:
    """Return what the card shows: the superseded source volumes and their total size."""
    left = superseded_volumes(domain)
    return {"superseded": left, "superseded_bytes": sum(v.size_bytes for v in left)}
