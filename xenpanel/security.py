"""Security plumbing: the Content-Security-Policy header, and an admin site for panel admins only.

The CSP allows scripts from the panel's own static files only (no inline script, no eval: htmx is
configured with `allowEval: false`). Style *attributes* stay allowed: progress bars and a few
layout details set `style="width: …"` from the template, and a style attribute cannot run code.
The console's WebSocket may go to another port (the demo's proxy on :6080) or another URL
(`CONSOLE_WS_URL`), so `connect-src` names it.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse, JsonResponse

CONSOLE_DEFAULT_PORT = 6080


def console_sources(request: HttpRequest) -> list[str]:
    """Return where the console page may open its WebSocket, for `connect-src`."""
    configured = settings.CONSOLE_WS_URL
    if configured.startswith(("ws://", "wss://")):
        parts = urlsplit(configured)
        return [f"{parts.scheme}://{parts.netloc}"]
    if configured:
        return []  # a path on the panel's own origin: 'self' covers it
    host = request.get_host().rsplit(":", 1)[0] if request.get_host() else "localhost"
    return [f"ws://{host}:{CONSOLE_DEFAULT_PORT}", f"wss://{host}:{CONSOLE_DEFAULT_PORT}"]


def content_security_policy(request: HttpRequest) -> str:
    """Return the policy for a response to `request`."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'", *console_sources(request)],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class ContentSecurityPolicyMiddleware:
    """Add the CSP header to every HTML response (when `CSP_ENABLED`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(settings, "CSP_ENABLED", False) and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(request)
        return response


class PanelAdminSite(admin.AdminSite):
    """The Django admin, for panel admins (the `admin` role or superusers) and no one else.

    Django's default lets any `is_staff` user in and then trusts model permissions; here the role
    decides, so an operator who somehow got `is_staff` still cannot edit other people's objects.
    """

    site_header = "xenpanel administration"
    site_title = "xenpanel admin"
    index_title = "Users, teams, quotas and records"
    site_url = "/"

    def has_permission(self, request: HttpRequest) -> bool:
        from accounts.access import is_admin

        return bool(request.user.is_active and is_admin(request.user))

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """Send people to the panel's own sign-in page (one login, one lockout policy)."""
        from django.contrib.auth.views import redirect_to_login
        from django.core.exceptions import PermissionDenied

        if request.user.is_authenticated:
            # Signed in but not an admin: the panel's login would send them straight back.
            raise PermissionDenied("Only administrators can use the admin pages.")
        return redirect_to_login(request.GET.get("next") or self.index_url())

    def index_url(self) -> str:
        from django.urls import reverse

        return reverse("admin:index", current_app=self.name)


class PanelAdminConfig(AdminConfig):
    default_site = "xenpanel.security.PanelAdminSite"


class AdminRoleBackend:
    """Grant every model permission to panel admins (the `admin` role), models added later too.

    It authenticates no one (the other backends do that); it only answers permission questions.
    """

    def authenticate(self, request: HttpRequest | None, **credentials: object) -> None:
        return None

    def get_user(self, user_id: int) -> None:
        return None

    def has_perm(self, user_obj: object, perm: str, obj: object = None) -> bool:
        from accounts.access import is_admin

        return bool(getattr(user_obj, "is_active", False) and is_admin(user_obj))  # type: ignore[arg-type]

    def has_module_perms(self, user_obj: object, app_label: str) -> bool:
        return self.has_perm(user_obj, app_label)


class ApiNulMiddleware:
    """Refuse a NUL byte in an API request's query string (400, the API's error shape).

    PostgreSQL text cannot hold NUL, so a search or filter value carrying one would fail in the
    database (a 500) instead of matching nothing; the pages strip it where they search, the API
    says so once here for every list and filter.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and any(
            "\x00" in value for values in request.GET.lists() for value in [values[0], *values[1]]
        ):
            return JsonResponse(
                {"detail": "Query parameters may not contain NUL bytes.", "code": "invalid"},
                status=400,
            )
        return self.get_response(request)
