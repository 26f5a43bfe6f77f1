"""Admin page for domUs: who owns them and which team shares them (the rest is in the panel).

The VNC password and the config text (which carries it) are not shown here.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from domains.models import Domain


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("name", "host", "state", "memory_mb", "vcpus", "owner", "team", "panel_link")
    list_filter = ("host", "state")
    list_select_related = ("host", "owner", "team")
    search_fields = ("name",)
    autocomplete_fields = ("owner", "team")
    fields = ("owner", "team")

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False  # domUs are created by the panel's form, which checks them

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False  # deleting is a job on the host (the domU page's Delete)

    @admin.display(description="")
    def panel_link(self, domain: Domain) -> str:
        return format_html('<a href="{}">open in the panel</a>', domain.get_absolute_url())
