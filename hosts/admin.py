"""Admin page for hosts: listed for reference (hosts are added and edited in the panel)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from accounts.admin import ReadOnlyAdmin
from hosts.models import Host


@admin.register(Host)
class HostAdmin(ReadOnlyAdmin):
    """Listed for reference; hosts are added and edited in the panel, whose form checks them."""

    list_display = ("name", "transport", "address", "status", "refreshed_at", "panel_link")
    search_fields = ("name", "address")
    fields = ("name", "transport", "address", "status", "status_reason", "refreshed_at")

    @admin.display(description="")
    def panel_link(self, host: Host) -> str:
        return format_html('<a href="{}">open in the panel</a>', host.get_absolute_url())
