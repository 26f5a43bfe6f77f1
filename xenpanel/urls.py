"""URL map: auth, dashboard, and each app under its own prefix."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from xenpanel import api_urls, views


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says (and before
    anyone signs in); the icon is the static SVG."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


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
    path("users/", include("accounts.users_urls")),
    path("tokens/", include("accounts.tokens_urls")),
    path("hosts/", include("hosts.urls")),
    path("domains/", include("domains.urls")),
    path("console/", include("domains.console.urls")),
    path("isos/", include("storage.urls_isos")),
    path("storage/", include("storage.urls")),
    path("jobs/", include("jobs.urls")),
    path("monitoring/", include("monitoring.urls")),
    # --- issue 16: /metrics (Prometheus) ---
    path("", include("monitoring.metrics_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("xenpanel.api_urls")),
    *api_urls.docs_patterns,
    # --- session 5: pages and errors ---
    path("favicon.ico", login_not_required(favicon), name="favicon"),
]
# The 400/403/404 pages are templates/400.html etc. rendered by Django's handlers (with the
# navigation); 500.html is static: Django renders it without a request or the database.
# Under /api/ a 404 is the API's JSON error instead (a client parses every answer as JSON).
handler404 = "accounts.api_base.page_not_found"
