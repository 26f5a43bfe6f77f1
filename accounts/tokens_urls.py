"""API tokens page URLs, mounted at /tokens/ (every signed-in user, their own tokens)."""

from django.urls import path

from accounts import tokens_views as views

app_name = "tokens"
urlpatterns = [
    path("", views.token_list, name="list"),
    path("<int:pk>/revoke/", views.token_revoke, name="revoke"),
]
