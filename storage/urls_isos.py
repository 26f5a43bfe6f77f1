"""ISO library URLs, mounted at /isos/."""

from django.urls import path

from storage.views import isos

app_name = "isos"
urlpatterns = [
    path("", isos.iso_list, name="list"),
    path("fetch/", isos.iso_fetch, name="fetch"),
    path("upload/", isos.iso_upload, name="upload"),
    path("uploads/", isos.upload_create, name="upload_create"),
    path("uploads/<uuid:code>/", isos.upload_chunk, name="upload_chunk"),
    path("<uuid:code>/", isos.iso_detail, name="detail"),
    path("<uuid:code>/cancel/", isos.iso_cancel, name="cancel"),
    path("<uuid:code>/delete/", isos.iso_delete, name="delete"),
    path("<uuid:code>/remove/", isos.iso_remove, name="remove"),
]
