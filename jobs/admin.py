"""Admin page for jobs: read-only (the panel writes them)."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from jobs.models import Job, JobTarget


class JobTargetInline(admin.TabularInline):
    model = JobTarget
    fields = ("role", "label", "lock_key")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "target_label", "status", "requested_by", "created_at")
    list_filter = ("status", "kind")
    inlines = [JobTargetInline]
    search_fields = ("title", "target_label")
    exclude = ("params", "result")
