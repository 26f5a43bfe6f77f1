"""The console page and the ticket it asks for before each connection."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import access, audit
from accounts.http import PanelRequest
from accounts.models import AuditAction
from domains import vnc as vnc_info
from domains.access import get_domain_for_user
from domains.console import tickets
from domains.console.targets import NoConsole, console_target
from jobs.redis import get_redis


@require_GET
def console_page(request: HttpRequest, code: str) -> HttpResponse:
    """Show the console of a domU the user may see (connecting needs operator rights)."""
    domain = get_domain_for_user(request.user, code)
    problem = ""
    try:
        console_target(domain)
    except NoConsole as exc:
        problem = str(exc)
    context = {
        "domain": domain,
        "may_connect": access.can_operate(request.user),
        "problem": problem,
        "vnc": vnc_info.details_for(domain),
        "ws_url": settings.CONSOLE_WS_URL,
    }
    return render(request, "console/page.html", context)


@never_cache
@require_POST
def console_ticket(request: PanelRequest, code: str) -> JsonResponse:
    """Issue a single-use ticket for this domU's console (404 strangers, 403 viewers)."""
    domain = get_domain_for_user(request.user, code, write=True)
    try:
        target = console_target(domain)
    except NoConsole as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    ticket = tickets.issue(
        get_redis(),
        user_id=request.user.pk,
        domain_code=str(domain.code),
        target=target,
        seconds=settings.CONSOLE_TICKET_SECONDS,
    )
    audit.record(
        AuditAction.CONSOLE_OPEN,
        request=request,
        target=domain,
        details={
            "host": domain.host.name,
            "vnc": f"{target.host}:{target.port}",
            "via": "ssh tunnel" if target.ssh else "direct",
        },
    )
    body: dict[str, object] = {
        "ticket": ticket,
        "ws_url": settings.CONSOLE_WS_URL,
        "expires_in": settings.CONSOLE_TICKET_SECONDS,
    }
    if domain.vnc_password:
        body["password"] = domain.vnc_password
    return JsonResponse(body)
