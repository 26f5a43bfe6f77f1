"""The request type of a panel view, for annotations.

Every view is behind `login_required` and django-htmx's middleware, so at runtime its request
has a signed-in `User` and `request.htmx`; `HttpRequest` says neither, and mypy would make each
view re-check what the decorator already guarantees. Annotate a view `request: PanelRequest`
when it uses either; it lives in the lowest Django room so every room's views can use it.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class PanelRequest(HttpRequest):
    """An `HttpRequest` behind `login_required` and `HtmxMiddleware` (never instantiated)."""

    user: User
    htmx: HtmxDetails
