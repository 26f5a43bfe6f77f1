"""API routes of the hosts room (under /api/v1/, namespace "api")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from hosts import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("hosts/", api.HostList.as_view(), name="hosts"),
    path("hosts/<uuid:code>/", api.HostDetail.as_view(), name="host"),
    path("hosts/<uuid:code>/refresh/", api.HostRefresh.as_view(), name="host-refresh"),
    path("hosts/<uuid:code>/readiness/", api.HostReadiness.as_view(), name="host-readiness"),
    # The same path and view: GET reads the checklist, POST runs it again. Only the first of two
    # patterns with one path ever resolves, so the second is here for its name (reverse()).
    path("hosts/<uuid:code>/readiness/", api.HostReadiness.as_view(), name="host-readiness-check"),
    path("hosts/<uuid:code>/key/fetch/", api.HostKeyFetch.as_view(), name="host-key-fetch"),
    path("hosts/<uuid:code>/key/pin/", api.HostKeyPin.as_view(), name="host-key-pin"),
]
