"""Monitoring pages and data (namespace "monitoring")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "monitoring"

urlpatterns: list[URLPattern | URLResolver] = [
    # --- issue 16: charts data ---
    # --- issue 16: alerts ---
]
