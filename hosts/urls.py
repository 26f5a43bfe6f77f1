from django.urls import path

from hosts import views as hosts

app_name = "hosts"
urlpatterns = [
    path("", hosts.host_list, name="list"),
    path("add/", hosts.host_create, name="create"),
    path("<uuid:code>/", hosts.host_detail, name="detail"),
    path("<uuid:code>/edit/", hosts.host_edit, name="edit"),
    path("<uuid:code>/refresh/", hosts.host_refresh, name="refresh"),
    path("<uuid:code>/key/fetch/", hosts.host_fetch_key, name="fetch_key"),
    path("<uuid:code>/key/pin/", hosts.host_pin_key, name="pin_key"),
    path("<uuid:code>/delete/", hosts.host_delete, name="delete"),
    path("<uuid:code>/migration-access/", hosts.host_migration_access, name="migration_access"),
]
