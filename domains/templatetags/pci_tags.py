"""`{% pci_card domain request.user as pci %}`: the context of the domU page's PCI card."""

from __future__ import annotations

from typing import Any

from django import template

from domains.models import Domain
from domains.pci.listing import domain_pci_context

register = template.Library()


@register.simple_tag
def pci_card(domain: Domain, user: Any) -> dict[str, Any]:
    return domain_pci_context(domain, user)
