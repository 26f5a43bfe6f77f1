"""The host page's "Maintenance" section (issue 14): its state, the evacuation under way, and
the admins' buttons (Evacuate…, Enter maintenance, End maintenance)."""

from __future__ import annotations

from typing import Any

from accounts import access
from domains import actions
from domains.migration import evacuation
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job


def host_maintenance_context(request: Any, host: Any) -> dict[str, Any]:
    active = evacuation.active_evacuation(host)
    last = None
    if active is None:
        last = (
            Job.objects.holding([evacuation.evacuate_key(host)])
            .filter(kind=actions.EVACUATE)
            .exclude(status__in=ACTIVE_JOB_STATUSES)
            .order_by("-finished_at", "-id")
            .first()
        )
    return {
        "maint_text": evacuation.maintenance_text(host),
        "maint_running": evacuation.running_domains(host).count(),
        "maint_job": active,
        "maint_last_job": last,
        "maint_is_admin": access.is_admin(request.user),
    }
