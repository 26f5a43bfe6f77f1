"""gzip for the panel's own responses (HTML, htmx partials, JSON), never for streams (issue 16).

Static files are not compressed here: whitenoise serves them from the `.gz` copies collectstatic
made (xenpanel/staticstorage.py) and answers before this middleware is reached.

BREACH: compressing a page that carries a secret (the CSRF token) next to text an attacker can
inject lets the attacker guess the secret from response sizes. Django 4.2+ mitigates this in
GZipMiddleware itself (it adds random bytes to the gzip header's filename field, "Heal The
Breach"), and Django masks the CSRF token differently in every response.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware


class PanelGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware, minus streaming responses.

    A gzip stream holds bytes back until it has a block's worth, so a compressed Server-Sent
    Events stream (`/api/v1/jobs/<code>/events`) would reach the client late or only at its end;
    other streams (downloads) are large and mostly incompressible. They go out as they are.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.streaming:
            return response
        return super().process_response(request, response)
