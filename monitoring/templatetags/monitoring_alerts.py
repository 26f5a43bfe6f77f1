"""The navigation's Alerts link with the count of firing alerts the user may see (one query)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("monitoring/alerts_nav.html", takes_context=True)
def alerts_nav(context: template.Context) -> dict[str, Any]:
    from monitoring.alert_views import firing_count

    request = context.get("request")
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    active = bool(match and match.namespace == "monitoring" and "alert" in (match.url_name or ""))
    count = firing_count(user) if user is not None and user.is_authenticated else 0
    return {"count": count, "active": active}
