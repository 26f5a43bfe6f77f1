"""URLs of this concern, added to the `domains` namespace by domains/urls.py."""

from django.urls import URLPattern, path

from domains.snapshots import views

urlpatterns: list[URLPattern] = [
    path("<uuid:code>/snapshots/", views.snapshot_list, name="snapshots"),
    path("<uuid:code>/snapshots/take/", views.snapshot_create, name="snapshot_create"),
    path("<uuid:code>/snapshots/schedule/", views.snapshot_schedule, name="snapshot_schedule"),
    path("<uuid:code>/snapshots/sizes/", views.snapshot_sizes, name="snapshot_sizes"),
    path(
        "<uuid:code>/snapshots/<uuid:snap>/rollback/",
        views.snapshot_rollback,
        name="snapshot_rollback",
    ),
    path(
        "<uuid:code>/snapshots/<uuid:snap>/delete/", views.snapshot_delete, name="snapshot_delete"
    ),
]
