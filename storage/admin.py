"""Admin pages for volumes and ISO images: admins may hand them to another owner or team."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.admin_lookups import BoundedLookupsMixin
from storage.models import IsoImage, Volume


class OwnedAdmin(BoundedLookupsMixin, admin.ModelAdmin):
    """Volumes and images: admins may hand them to another owner or team here."""

    list_filter = ("host", "state")
    list_select_related = ("host", "owner", "team")
    autocomplete_fields = ("owner", "team")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by jobs on the host, from the panel

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deleting is a job on the host (the panel's Destroy/Delete buttons)


@admin.register(Volume)
class VolumeAdmin(OwnedAdmin):
    list_display = ("dataset", "host", "size_human", "state", "owner", "team")
    search_fields = ("dataset",)
    fields = ("owner", "team")


@admin.register(IsoImage)
class IsoImageAdmin(OwnedAdmin):
    list_display = ("file_name", "host", "size_human", "state", "owner", "team")
    search_fields = ("file_name",)
    fields = ("owner", "team")
