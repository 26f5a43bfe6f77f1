"""URL map: auth, dashboard, and each app under its own prefix."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from xenpanel import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("audit/", include("accounts.urls")),
    path("hosts/", include("hosts.urls")),
    path("domains/", include("domains.urls")),
    path("console/", include("domains.console.urls")),
    path("isos/", include("storage.urls_isos")),
    path("storage/", include("storage.urls")),
    path("jobs/", include("jobs.urls")),
    path("admin/", admin.site.urls),
]
