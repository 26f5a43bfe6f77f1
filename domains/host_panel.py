"""Context for the domUs section of the host page: managed domUs and ones to import."""

from __future__ import annotations

from django.http import HttpRequest

from accounts import access
from domains.access import domains_for_user
from domains.models import Domain
from hosts.models import Host
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job


def host_domains_context(request: HttpRequest, host: Host) -> dict[str, object]:
    # Each row shows its owner: one join, not one auth_user query per domU (issue 16).
    domains = list(domains_for_user(request.user).filter(host=host).select_related("owner"))
    managed = set(Domain.objects.filter(host=host).values_list("name", flat=True))
    seen = [d for d in (host.facts or {}).get("domains", []) if d.get("domid") != 0]
    active = Job.objects.filter(status__in=ACTIVE_JOB_STATUSES)
    busy = (
        active.on(host).filter(kind__startswith="domain.").exists()
        or active.on_any(domains).exists()
    )
    return {
        "host_domains": domains,
        "unmanaged": [d for d in seen if d.get("name") not in managed],
        "domus_busy": busy,
        "can_operate": access.can_operate(request.user),
        "is_admin": access.is_admin(request.user),
    }
