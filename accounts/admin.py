"""Admin pages for panel admins: users, roles, teams and quotas, and the audit list.

Users and teams are where admins work here: a user's groups hold their role (admin, operator,
viewer) and their teams (every other group); a quota sits inline on the user or the team.
Records the panel writes itself (jobs, audit entries) are read-only.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from accounts import access
from accounts.admin_lookups import BoundedLookupsMixin
from accounts.models import AuditEntry, Quota
from dom0 import validate
from dom0.errors import ValidationError as Dom0ValidationError
from dom0.units import human_bytes

User = get_user_model()


class SizeField(forms.CharField):
    """A byte count typed the way ZFS prints it (20G, 1.5T); shown the same way."""

    def prepare_value(self, value: Any) -> Any:
        return human_bytes(value) if isinstance(value, int) else value

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]  # a size, not text
        text = (super().to_python(value) or "").strip()
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
class PanelUserAdmin(BoundedLookupsMixin, UserAdmin):
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
class PanelGroupAdmin(BoundedLookupsMixin, GroupAdmin):
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
class QuotaAdmin(BoundedLookupsMixin, admin.ModelAdmin):
    form = QuotaForm
    fields = ("user", "team", "memory_mb", "vcpus", "domus", "disk_bytes", "iso_bytes")
    list_display = ("__str__", "memory_mb", "vcpus", "domus", "disk_bytes", "iso_bytes")
    list_select_related = ("user", "team")
    autocomplete_fields = ("user", "team")


class ReadOnlyAdmin(BoundedLookupsMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_name", "action", "target_label", "address")
    list_filter = ("action",)
    search_fields = ("actor_name", "target_label", "address")

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra_context = {**(extra_context or {}), "panel_audit_url": reverse("audit:list")}
        if "address" in request.GET and not _is_ip(request.GET["address"]):
            # The admin filters on any field named in the query; a value that is no address
            # would fail only while the list runs (PostgreSQL's inet), as a server error.
            query = request.GET.copy()
            del query["address"]
            # django-stubs types request.GET as immutable; replacing it with a changed copy is
            # what Django allows (and the admin reads it again from the request).
            request.GET = query  # type: ignore[assignment]
        return super().changelist_view(request, extra_context)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
