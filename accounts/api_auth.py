"""How the API knows who calls: a personal token (`Authorization: Bearer xp_…`) for scripts, the
session (with CSRF, DRF's SessionAuthentication) for the browser.

A token's scope only narrows what its user may do (`TokenScope`); every rule about objects and
roles is the same code the pages use (accounts.access and the rooms' access modules).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from accounts import audit, tokens
from accounts.models import ApiToken, AuditAction

KEYWORD = "Bearer"
#: Requests made with a token that are not audited one by one although they write: the chunks of
#: a tus upload (`PATCH api:upload`, one per few MiB; its `HEAD`s only read, like every GET).
#: Creating the upload (`POST api:uploads`) and aborting it (`DELETE`) are audited: the upload is
#: on record once, not once per chunk.
UNAUDITED = {("PATCH", "api:upload")}


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer xp_<prefix>_<secret>`; a bad, revoked or expired token is 401."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        keyword, _, text = header.partition(" ")
        if keyword != KEYWORD:
            return None
        token = tokens.check(text.strip())
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API token.")
        tokens.touch(token)
        if request.method not in permissions.SAFE_METHODS and not _unaudited(request):
            audit.record(
                AuditAction.TOKEN_USE,
                request=request._request,
                actor=token.user,
                target_type="api_token",
                target_label=str(token),
                details={"method": request.method, "path": request.path},
            )
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="api"'


def _unaudited(request: Request) -> bool:
    match = getattr(request._request, "resolver_match", None)
    return match is not None and (request.method, match.view_name) in UNAUDITED


class TokenScope(permissions.BasePermission):
    """A read token may only read; session users and write tokens pass (their role decides)."""

    message = "This API token may only read (its scope is read); create a read+write token."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and token.scope == ApiToken.Scope.READ:
            return request.method in permissions.SAFE_METHODS
        return True


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema (and the docs page's Authorize button) describes token auth."""

    target_class = "accounts.api_auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "xp_<prefix>_<secret>",
            "description": "A personal API token, made on the panel's API tokens page "
            "(`/tokens/`). Read tokens may only send GET/HEAD/OPTIONS.",
        }
