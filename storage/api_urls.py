"""API routes of the storage room (under /api/v1/, namespace "api")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from storage import api_uploads
from storage.api import isos, volumes

urlpatterns: list[URLPattern | URLResolver] = [
    # volumes and ISO images (storage/api/)
    path("volumes/", volumes.VolumeList.as_view(), name="volumes"),
    path("volumes/<uuid:code>/", volumes.VolumeDetail.as_view(), name="volume"),
    path("isos/", isos.IsoList.as_view(), name="isos"),
    path("isos/<uuid:code>/", isos.IsoDetail.as_view(), name="iso"),
    # tus 1.0 uploads of ISO images (storage/api_uploads.py)
    path("uploads/", api_uploads.UploadsView.as_view(), name="uploads"),
    path("uploads/<uuid:code>/", api_uploads.UploadView.as_view(), name="upload"),
]
