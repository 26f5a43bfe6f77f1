"""Context for the domUs section of the host page (the domUs work fills this in)."""

from __future__ import annotations

from django.http import HttpRequest

from hosts.models import Host


def host_domains_context(request: HttpRequest, host: Host) -> dict[str, object]:
    return {}
