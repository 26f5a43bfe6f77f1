"""Quotas: how much one user, or one team (a group), may hold. Empty limits mean unlimited."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Quota(models.Model):
    """Limits for one user or one team; every limit is optional."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quota",
    )
    team = models.OneToOneField(
        "auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="quota"
    )
    memory_mb = models.PositiveIntegerField(
        "memory (MB)", null=True, blank=True, help_text="Memory of the domUs that run at once."
    )
    vcpus = models.PositiveIntegerField(
        "vCPUs", null=True, blank=True, help_text="vCPUs of the domUs that run at once."
    )
    disk_bytes = models.PositiveBigIntegerField(
        "disk (bytes)", null=True, blank=True, help_text="Total size of ZFS volumes."
    )
    iso_bytes = models.PositiveBigIntegerField(
        "ISO storage (bytes)", null=True, blank=True, help_text="Total size of ISO images."
    )
    domus = models.PositiveIntegerField("domUs", null=True, blank=True, help_text="How many domUs.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True)
                | Q(user__isnull=True, team__isnull=False),
                name="quota_user_xor_team",
            )
        ]

    def __str__(self) -> str:
        return f"Quota of {self.scope_label}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        if self.user_id:
            return reverse("admin:auth_user_change", args=[self.user_id])
        return reverse("admin:auth_group_change", args=[self.team_id])

    @property
    def scope_label(self) -> str:
        return f"team {self.team}" if self.team_id else f"user {self.user}"
