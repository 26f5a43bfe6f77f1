"""URLs of this concern, added to the `domains` namespace by domains/urls.py."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
