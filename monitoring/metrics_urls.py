"""`/metrics` at the site root (where Prometheus looks by default), outside any namespace."""

from __future__ import annotations

from django.urls import URLPattern, path

from monitoring import prometheus

urlpatterns: list[URLPattern] = [path("metrics", prometheus.metrics, name="metrics")]
