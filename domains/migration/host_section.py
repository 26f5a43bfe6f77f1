"""The host page's "Maintenance" section (issue 14): filled by the evacuation concern."""

from __future__ import annotations

from typing import Any


def host_maintenance_context(request: Any, host: Any) -> dict[str, Any]:
    return {}
