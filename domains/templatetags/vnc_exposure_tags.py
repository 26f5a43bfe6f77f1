"""`{{ domain|vnc_exposure_warning }}`: the warning of a domU whose VNC listens beyond loopback."""

from __future__ import annotations

from django import template

from domains.models import Domain
from hosts import vnc_exposure

register = template.Library()


@register.filter
def vnc_exposure_warning(domain: Domain) -> str:
    """The sentence of `hosts.vnc_exposure.warning`, or '' (VNC off, or on loopback only)."""
    if not domain.vnc_enabled:
        return ""
    return vnc_exposure.warning(domain.vnc_listen, domain.host.name)
