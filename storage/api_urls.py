"""API routes of the storage room (under /api/v1/, namespace "api")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
