"""API routes of the accounts room (under /api/v1/, namespace "api")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from accounts import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("me/", api.Me.as_view(), name="me"),
    path("tokens/", api.TokenList.as_view(), name="tokens"),
    path("tokens/<int:pk>/", api.TokenDetail.as_view(), name="token"),
    path("audit/", api.AuditList.as_view(), name="audit"),
]
