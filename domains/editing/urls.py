"""URLs of this concern, added to the `domains` namespace by domains/urls.py."""

from django.urls import URLPattern, path

from domains.editing import views

urlpatterns: list[URLPattern] = [
    path("<uuid:code>/edit/", views.domain_edit, name="edit"),
    path("<uuid:code>/edit/preview/", views.domain_edit_preview, name="edit_preview"),
    path("<uuid:code>/volume-grow/", views.volume_grow, name="volume_grow"),
]
