from django.urls import path

from domains import listing_views, views
from domains.clones import urls as clones_urls
from domains.editing import urls as editing_urls
from domains.migration import maintenance_urls
from domains.migration import urls as migration_urls
from domains.pci import urls as pci_urls
from domains.snapshots import urls as snapshots_urls

app_name = "domains"
urlpatterns = [
    path("", listing_views.domain_list, name="list"),
    path("changes/", listing_views.domain_list_changes, name="list_changes"),
    path("bulk/", listing_views.domain_bulk, name="bulk"),
    path("new/", views.domain_new, name="new"),
    path("new/preview/", views.domain_preview, name="preview"),
    path("host/<uuid:code>/", views.host_panel, name="host_panel"),
    path("host/<uuid:code>/import/", views.domain_import, name="import"),
    path("<uuid:code>/", views.domain_detail, name="detail"),
    path("<uuid:code>/live/", views.domain_live, name="live"),
    path("<uuid:code>/vnc-password/", views.vnc_password, name="vnc_password"),
    path("<uuid:code>/action/<str:action>/", views.domain_action, name="action"),
    path("<uuid:code>/finish-install/", views.domain_finish_install, name="finish_install"),
    path("<uuid:code>/cd-insert/", views.domain_cd_insert, name="cd_insert"),
    path("<uuid:code>/delete/", views.domain_delete, name="delete"),
    path("<uuid:code>/history/", views.domain_history, name="history"),
    path("<uuid:code>/history/<int:number>/restore/", views.domain_restore, name="restore"),
]
# Day 2 (issue 13): one URL module per concern, in the same namespace.
urlpatterns += editing_urls.urlpatterns
urlpatterns += snapshots_urls.urlpatterns
urlpatterns += clones_urls.urlpatterns
urlpatterns += pci_urls.urlpatterns
urlpatterns += migration_urls.urlpatterns
urlpatterns += maintenance_urls.urlpatterns
