"""Accounts: ownership of objects, quotas, and the audit list (who did what, when, from where)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q
from django.urls import reverse


class Owned(models.Model):
    """Every domU, volume and ISO has an owner and optionally a team (a group)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


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
        if self.user_id:
            return reverse("users:detail", args=[self.user_id])
        return reverse("users:team", args=[self.team_id])

    @property
    def scope_label(self) -> str:
        # The owner may already be gone when a cascade deletes its quota (the audit receiver
        # names the quota after the delete): fall back to the id instead of raising.
        kind, pk = ("team", self.team_id) if self.team_id else ("user", self.user_id)
        try:
            owner = self.team if self.team_id else self.user
        except ObjectDoesNotExist:
            return f"{kind} #{pk}"
        return f"{kind} {owner}"


class AuditAction(models.TextChoices):
    LOGIN = "login", "Signed in"
    LOGIN_FAILED = "login_failed", "Sign-in failed"
    LOCKED_OUT = "locked_out", "Locked out"
    LOGOUT = "logout", "Signed out"
    PASSWORD_CHANGE = "password_change", "Password changed"
    USER_CHANGE = "user_change", "User changed"
    GROUP_CHANGE = "group_change", "Group membership changed"
    PERMISSION_CHANGE = "permission_change", "Permissions changed"
    QUOTA_CHANGE = "quota_change", "Quota changed"
    CONSOLE_OPEN = "console_open", "Console opened"
    CONFIG_RESTORE = "config_restore", "Config version restored"
    JOB_START = "job_start", "Job started"
    TOKEN_CREATE = "token_create", "API token created"
    TOKEN_REVOKE = "token_revoke", "API token revoked"
    TOKEN_USE = "token_use", "API token used"
    ALERT_RULE_CHANGE = "alert_rule_change", "Alert rule changed"


class AuditEntry(models.Model):
    """One thing a person did that the panel keeps a record of; never holds a secret."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too: the user may be deleted, and a failed sign-in names no real user.
    actor_name = models.CharField(max_length=150, blank=True, db_index=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(max_length=20, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    target_url = models.CharField(max_length=300, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"

    def get_absolute_url(self) -> str:
        return reverse("audit:list") + f"?action={self.action}"

    @property
    def badge_class(self) -> str:
        """Return the Bootstrap colour of the action's badge: failures red, changes amber."""
        if self.action in (AuditAction.LOGIN_FAILED, AuditAction.LOCKED_OUT):
            return "text-bg-danger"
        if self.action in (AuditAction.LOGIN, AuditAction.LOGOUT):
            return "text-bg-light border"
        if self.action in (AuditAction.CONSOLE_OPEN, AuditAction.JOB_START):
            return "text-bg-primary"
        return "text-bg-warning"

    @property
    def details_items(self) -> list[tuple[str, str]]:
        """Return the details as (label, text) pairs for the list."""
        return [(key, _text(value)) for key, value in (self.details or {}).items()]


def _text(value: object) -> str:
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            if isinstance(item, list) and len(item) == 2:  # a changed field: [before, after]
                parts.append(f"{key}: {_text(item[0])} → {_text(item[1])}")
            else:
                parts.append(f"{key}: {_text(item)}")
        return ", ".join(parts)
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return "—" if value is None else str(value)


class ApiToken(models.Model):
    """A personal API token (issue 15): only a hash is stored, the token is shown once.

    The token reads `xp_<prefix>_<secret>`; `prefix` finds the row, `digest` (SHA-256 of the
    whole token) proves it. A token never grants more than its user has: its scope only narrows
    (read: safe methods only).
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=64)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.READ)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
