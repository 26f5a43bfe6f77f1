"""Context for the storage section of the host page (the storage work fills this in)."""

from __future__ import annotations

from django.http import HttpRequest

from hosts.models import Host


def host_storage_context(request: HttpRequest, host: Host) -> dict[str, object]:
    return {}
