"""/api/v1/: each room's `api_urls` under one namespace ("api"), the OpenAPI schema and its docs.

DRF authenticates API requests itself (token or session, accounts.api_auth) and answers 401/403
as JSON, so these views are exempt from LoginRequiredMiddleware's redirect to the sign-in page —
only these: `exempt()` marks the API's own view functions.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView

from xenpanel import api_docs

app_name = "api"


def exempt(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """Mark every view under `patterns` as not needing the session sign-in redirect."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            exempt(entry.url_patterns)
        else:
            entry.callback.login_required = False  # type: ignore[attr-defined]
    return patterns


urlpatterns = exempt(
    [
        path("schema/", SpectacularAPIView.as_view(), name="schema"),
        # --- issue 15: accounts (tokens, me, quotas, audit) ---
        path("", include("accounts.api_urls")),
        # --- issue 15: jobs ---
        path("", include("jobs.api_urls")),
        # --- issue 15: hosts ---
        path("", include("hosts.api_urls")),
        # --- issue 15: storage (volumes, isos, uploads) ---
        path("", include("storage.api_urls")),
        # --- issue 15: domains ---
        path("", include("domains.api_urls")),
    ]
)
# The documentation page is a panel page (signed in, with the navigation), not an API view.
docs_patterns = [path("api/v1/docs/", api_docs.docs, name="api_docs")]
