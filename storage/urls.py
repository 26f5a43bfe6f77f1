"""Storage URLs, mounted at /storage/: the Storage page and volumes."""

from django.urls import path

from storage.views import pages, volumes

app_name = "storage"
urlpatterns = [
    path("", pages.storage_index, name="index"),
    path("volumes/<uuid:code>/", volumes.volume_detail, name="volume"),
    path("volumes/<uuid:code>/destroy/", volumes.volume_destroy, name="volume_destroy"),
    path("volumes/<uuid:code>/remove/", volumes.volume_remove, name="volume_remove"),
    path("volumes/<uuid:code>/retry/", volumes.volume_retry, name="volume_retry"),
    path("hosts/<uuid:code>/", volumes.host_storage, name="host"),
    path("hosts/<uuid:code>/volumes/new/", volumes.volume_new, name="volume_new"),
    path("hosts/<uuid:code>/volumes/scan/", volumes.volumes_scan, name="volumes_scan"),
    path("hosts/<uuid:code>/volumes/import/", volumes.volume_import, name="volume_import"),
]
