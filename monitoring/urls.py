"""Monitoring pages and data (namespace "monitoring")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from monitoring import alert_views, chart_views

app_name = "monitoring"

urlpatterns: list[URLPattern | URLResolver] = [
    # --- issue 16: charts data ---
    path("hosts/<uuid:code>/charts.json", chart_views.host_charts, name="host_charts"),
    path("domus/<uuid:code>/charts.json", chart_views.domain_charts, name="domain_charts"),
    path(
        "hosts/<uuid:code>/pools/<str:pool>/chart.json",
        chart_views.pool_chart,
        name="pool_chart",
    ),
    path("dashboard.json", chart_views.dashboard_charts, name="dashboard_charts"),
    # --- issue 16: alerts ---
    path("alerts/", alert_views.alert_list, name="alerts"),
    path("alerts/rules/", alert_views.rule_list, name="alert_rules"),
    path("alerts/rules/new/", alert_views.rule_edit, name="alert_rule_new"),
    path("alerts/rules/<int:pk>/", alert_views.rule_edit, name="alert_rule_edit"),
    path("alerts/rules/<int:pk>/delete/", alert_views.rule_delete, name="alert_rule_delete"),
]
