"""URLs of this concern, added to the `domains` namespace by domains/urls.py."""

from django.urls import URLPattern, path

from domains.migration import views

urlpatterns: list[URLPattern] = [
    path("<uuid:code>/migrate/", views.migrate, name="migrate"),
    path("<uuid:code>/migrate/checks/", views.migrate_checks, name="migrate_checks"),
    path("<uuid:code>/migrate/cleanup/", views.migration_cleanup, name="migration_cleanup"),
]
