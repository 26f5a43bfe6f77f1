"""URLs of this concern, added to the `domains` namespace by domains/urls.py."""

from django.urls import URLPattern, path

from domains.clones import views

urlpatterns: list[URLPattern] = [
    path("templates/", views.templates_list, name="templates"),
    path("templates/<uuid:code>/", views.template_detail, name="template"),
    path("templates/<uuid:code>/delete/", views.template_delete, name="template_delete"),
    path("new/from-template/", views.clone_new, name="clone_new"),
    path("<uuid:code>/make-template/", views.make_template, name="make_template"),
    path("<uuid:code>/promote/", views.promote, name="promote"),
]
