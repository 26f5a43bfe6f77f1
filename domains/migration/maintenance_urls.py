"""URLs of host maintenance and evacuation, added to the `domains` namespace by domains/urls.py."""

from django.urls import URLPattern, path

from domains.migration import maintenance_views as views

urlpatterns: list[URLPattern] = [
    path("host/<uuid:code>/maintenance/", views.maintenance_panel, name="maintenance_panel"),
    path("host/<uuid:code>/evacuate/", views.evacuate, name="evacuate"),
    path("host/<uuid:code>/maintenance/enter/", views.maintenance_enter, name="maintenance_enter"),
    path("host/<uuid:code>/maintenance/end/", views.maintenance_end, name="maintenance_end"),
]
