"""Admin pages for panel admins: users, roles, teams and quotas; hosts, storage, jobs, audit.

Users and teams are where admins work here: a user's groups hold their role (admin, operator,
viewer) and their teams (every other group); a quota sits inline on the user or the team.
Records the panel writes itself (jobs, audit entries) are read-only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from hosts import access
from hosts.dom0 import validate
from hosts.dom0.errors import ValidationError as Dom0ValidationError
from hosts.models import AuditEntry, Host, IsoImage, Job, Quota, Volume
from hosts.models.storage import human_bytes

User = get_user_model()


class SizeField(forms.CharField):
    """A byte count typed the way ZFS prints it (20G, 1.5T); shown the same way."""

    def prepare_value(self, value: Any) -> Any:
        return human_bytes(value) if isinstance(value, int) else value

    def to_python(self, value: Any) -> int | None:
        text = super().to_python(value).strip()
        if not text:
            return None
        try:
            return validate.size(text, "size")
        except Dom0ValidationError as exc:
            raise forms.ValidationError(exc.sentence) from exc


class QuotaForm(forms.ModelForm):
    disk_bytes = SizeField(
        label="Disk", required=False, help_text="Total size of ZFS volumes, e.g. 200G."
    )
    iso_bytes = SizeField(
        label="ISO storage", required=False, help_text="Total size of ISO images, e.g. 20G."
    )

    class Meta:
        model = Quota
        fields = ("memory_mb", "vcpus", "domus", "disk_bytes", "iso_bytes")


class QuotaInline(admin.StackedInline):
    model = Quota
    form = QuotaForm
    extra = 1
    max_num = 1
    can_delete = True
    verbose_name = "quota"
    verbose_name_plural = "quota (empty fields: unlimited)"
    fields = (("memory_mb", "vcpus", "domus"), ("disk_bytes", "iso_bytes"))


class UserQuotaInline(QuotaInline):
    fk_name = "user"


class TeamQuotaInline(QuotaInline):
    fk_name = "team"


@admin.display(description="role")
def user_role(user: Any) -> str:
    return access.role(user) if user.is_active else "disabled"


@admin.display(description="teams")
def user_teams(user: Any) -> str:
    return ", ".join(g.name for g in user.groups.all() if g.name not in access.ROLE_GROUPS)


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class PanelUserAdmin(UserAdmin):
    list_display = ("username", user_role, user_teams, "email", "is_active", "last_login")
    list_filter = ("groups", "is_active", "is_superuser")
    inlines = [UserQuotaInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        (
            "Role and teams",
            {
                "fields": ("groups", "is_active", "is_superuser"),
                "description": "Put the user in one role group — admin, operator or viewer — "
                "and in any number of teams (the other groups). Operators and viewers see "
                "their own and their teams' domUs, volumes and ISO images.",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # The add page is only name and password; the quota comes on the next page.
        return self.inlines if obj is not None else []

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("groups")


@admin.register(Group)
class PanelGroupAdmin(GroupAdmin):
    list_display = ("name", "kind", "member_count")
    inlines = [TeamQuotaInline]
    readonly_fields = ("members",)
    fields = ("name", "members", "permissions")

    @admin.display(description="kind")
    def kind(self, group: Group) -> str:
        return "role" if group.name in access.ROLE_GROUPS else "team"

    @admin.display(description="members")
    def member_count(self, group: Group) -> int:
        return group.user_set.count()

    @admin.display(description="members")
    def members(self, group: Group) -> str:
        names = ", ".join(u.get_username() for u in group.user_set.order_by("username"))
        return names or "— (add people from their user page)"


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    form = QuotaForm
    fields = ("user", "team", "memory_mb", "vcpus", "domus", "disk_bytes", "iso_bytes")
    list_display = ("__str__", "memory_mb", "vcpus", "domus", "disk_bytes", "iso_bytes")
    list_select_related = ("user", "team")
    autocomplete_fields = ("user", "team")


class OwnedAdmin(admin.ModelAdmin):
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


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Host)
class HostAdmin(ReadOnlyAdmin):
    """Listed for reference; hosts are added and edited in the panel, whose form checks them."""

    list_display = ("name", "transport", "address", "status", "refreshed_at", "panel_link")
    search_fields = ("name", "address")
    fields = ("name", "transport", "address", "status", "status_reason", "refreshed_at")

    @admin.display(description="")
    def panel_link(self, host: Host) -> str:
        return format_html('<a href="{}">open in the panel</a>', host.get_absolute_url())


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "status", "requested_by", "host", "created_at")
    list_filter = ("status", "kind", "host")
    search_fields = ("title", "target_label")
    exclude = ("params", "result")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_name", "action", "target_label", "address")
    list_filter = ("action",)
    search_fields = ("actor_name", "target_label", "address")

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra_context = {**(extra_context or {}), "panel_audit_url": reverse("audit:list")}
        return super().changelist_view(request, extra_context)
