"""Write the audit list: sign-ins, sign-outs, lockouts, console opens, user/group/permission/quota
changes, config restores and job starts.

Views call `record(...)`; everything that Django signals (auth events, admin edits of users,
groups and quotas) is recorded by the receivers below, which `AccountsConfig.ready`
connects. The request being served is kept in a context variable by `AuditContextMiddleware`, so
a receiver knows who acted and from which address without being handed the request.

No entry ever holds a secret: only user names, labels and counts go in, and `details` keys that
look like secrets are dropped on the way in (belt and braces; no caller passes one).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.http import HttpRequest, HttpResponse

from accounts.models import AuditAction, AuditEntry, Quota

log = logging.getLogger("xenpanel.audit")
_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "xenpanel_audit_request", default=None
)
SECRET_WORDS = ("password", "passwd", "secret", "token", "ticket", "session", "key", "credential")
#: User fields whose change is worth a line (the password is named, never shown).
WATCHED_USER_FIELDS = ("username", "is_active", "is_staff", "is_superuser", "email")


class AuditContextMiddleware:
    """Remember the request being served, for receivers that record who did something."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def client_address(request: HttpRequest | None) -> str | None:
    """Return the address the request came from (through trusted proxies), if valid."""
    from accounts.client_ip import client_ip

    return client_ip(request) if request is not None else None


def _clean(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if not any(w in k.lower() for w in SECRET_WORDS)}


def _user_of(request: HttpRequest | None) -> Any:
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


def record(
    action: str,
    *,
    request: HttpRequest | None = None,
    actor: Any = None,
    actor_name: str = "",
    target: Model | None = None,
    target_type: str = "",
    target_label: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry; actor and address default to the request being served."""
    request = request or _request.get()
    actor = actor or _user_of(request)
    if target is not None:
        target_type = target_type or str(target._meta.verbose_name)
        target_label = target_label or str(target)
    url = ""
    if target is not None and hasattr(target, "get_absolute_url"):
        try:
            url = target.get_absolute_url()
        except Exception:  # noqa: BLE001  (a target without a page still gets its entry)
            url = ""
    entry = AuditEntry.objects.create(
        actor=actor,
        actor_name=(actor_name or (actor.get_username() if actor else ""))[:150],
        action=action,
        target_type=str(target_type)[:20],
        target_label=target_label[:200],
        target_url=url[:300],
        address=client_address(request),
        details=_clean(details or {}),
    )
    # The same line goes to the log, for sites that ship logs to a central place.
    log.info(
        "%s by %s on %s %s from %s %s",
        entry.action,
        entry.actor_name or "-",
        entry.target_type or "-",
        entry.target_label or "-",
        entry.address or "-",
        entry.details_items,
    )
    return entry


# --- sign-in, sign-out, lockout ------------------------------------------------------------------
def _logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    record(AuditAction.LOGIN, request=request, actor=user, target=user, target_type="user")


def _logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(AuditAction.LOGOUT, request=request, actor=user, target=user, target_type="user")


def typed_name(typed: object) -> str:
    """Return a user name someone typed as it may go into the audit list.

    A name an account has is kept; any other is replaced by its length, because people type their
    password into the name field. The one rule for every sign-in record (failure and lockout).
    """
    text = str(typed or "")[:150]
    if text and get_user_model().objects.filter(username=text).exists():
        return text
    return f"(no such user, {len(text)} characters)"


def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Only the name someone typed: the password (even Django's masked copy) stays out.
    name = typed_name(credentials.get("username", ""))
    record(
        AuditAction.LOGIN_FAILED,
        request=request,
        actor_name=name,
        target_type="user",
        target_label=name,
    )


def _locked_out(sender: Any, request: HttpRequest, username: str, **kwargs: Any) -> None:
    name = typed_name(username)
    record(
        AuditAction.LOCKED_OUT,
        request=request,
        actor_name=name,
        target_type="user",
        target_label=name,
    )


# --- users, groups, permissions, quotas -----------------------------------------------------------
def _names(model: type[Model], pks: Iterable[Any] | None) -> list[str]:
    if not pks:
        return []
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
    if model is get_user_model():
        return sorted(str(u) for u in model._default_manager.filter(pk__in=pks))
    # The other relations connected below are a user's and a group's permissions.
    return sorted(
        f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.filter(pk__in=pks)
    )


def _m2m(audit_action: str) -> Callable[..., None]:
    """Return a receiver for one many-to-many relation (group membership or permissions)."""

    def receiver(
        sender: Any,
        instance: Model,
        action: str,
        model: type[Model],
        pk_set: set[Any] | None,
        **kwargs: Any,
    ) -> None:
        if action == "pre_clear":
            record(audit_action, target=instance, details={"removed": "all"})
            return
        change = {"post_add": "added", "post_remove": "removed"}.get(action)
        names = _names(model, pk_set) if change else []
        if change and names:
            record(audit_action, target=instance, details={change: names})

    return receiver


def _user_pre_save(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if kwargs.get("raw") or instance.pk is None:
        instance._audit_before = None
        return
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        instance._audit_before = None  # every sign-in saves last_login; not a change of the user
        return
    instance._audit_before = (
        sender.objects.filter(pk=instance.pk).values(*WATCHED_USER_FIELDS, "password").first()
    )


def _user_post_save(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    if created:
        record(
            AuditAction.USER_CHANGE,
            target=instance,
            target_type="user",
            details={"created": True, "superuser": instance.is_superuser},
        )
        return
    before = getattr(instance, "_audit_before", None)
    if not before:
        return
    changed = {
        f: [before[f], getattr(instance, f)]
        for f in WATCHED_USER_FIELDS
        if before[f] != getattr(instance, f)
    }
    if changed:
        record(
            AuditAction.USER_CHANGE,
            target=instance,
            target_type="user",
            details={"changed": changed},
        )
    if before["password"] != instance.password:
        record(AuditAction.PASSWORD_CHANGE, target=instance, target_type="user")


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    record(
        AuditAction.USER_CHANGE,
        target_type="user",
        target_label=str(instance),
        details={"deleted": True},
    )


def _group_saved(sender: Any, instance: Group, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):
        record(
            AuditAction.GROUP_CHANGE,
            target=instance,
            target_type="group",
            details={"created": True},
        )


def _group_deleted(sender: Any, instance: Group, **kwargs: Any) -> None:
    record(
        AuditAction.GROUP_CHANGE,
        target_type="group",
        target_label=instance.name,
        details={"deleted": True},
    )


def quota_limits(quota: Quota) -> dict[str, int | None]:
    return {
        f: getattr(quota, f) for f in ("memory_mb", "vcpus", "disk_bytes", "iso_bytes", "domus")
    }


def _quota_saved(sender: Any, instance: Quota, created: bool, **kwargs: Any) -> None:
    if not kwargs.get("raw"):
        record(
            AuditAction.QUOTA_CHANGE,
            target=instance,
            target_type="quota",
            details={"created": created, "limits": quota_limits(instance)},
        )


def _quota_deleted(sender: Any, instance: Quota, **kwargs: Any) -> None:
    record(
        AuditAction.QUOTA_CHANGE,
        target_type="quota",
        target_label=str(instance),
        details={"deleted": True},
    )


def connect() -> None:
    """Connect the receivers (called once from `AccountsConfig.ready`)."""
    from axes.signals import user_locked_out

    user = get_user_model()
    uid = "xenpanel.audit"
    user_logged_in.connect(_logged_in, dispatch_uid=f"{uid}.login")
    user_logged_out.connect(_logged_out, dispatch_uid=f"{uid}.logout")
    user_login_failed.connect(_login_failed, dispatch_uid=f"{uid}.failed")
    user_locked_out.connect(_locked_out, dispatch_uid=f"{uid}.locked")
    m2m_changed.connect(
        _m2m(AuditAction.GROUP_CHANGE),
        sender=user.groups.through,
        weak=False,
        dispatch_uid=f"{uid}.groups",
    )
    m2m_changed.connect(
        _m2m(AuditAction.PERMISSION_CHANGE),
        sender=user.user_permissions.through,
        weak=False,
        dispatch_uid=f"{uid}.user_perms",
    )
    m2m_changed.connect(
        _m2m(AuditAction.PERMISSION_CHANGE),
        sender=Group.permissions.through,
        weak=False,
        dispatch_uid=f"{uid}.group_perms",
    )
    pre_save.connect(_user_pre_save, sender=user, dispatch_uid=f"{uid}.user_pre")
    post_save.connect(_user_post_save, sender=user, dispatch_uid=f"{uid}.user_post")
    post_delete.connect(_user_deleted, sender=user, dispatch_uid=f"{uid}.user_del")
    post_save.connect(_group_saved, sender=Group, dispatch_uid=f"{uid}.group_post")
    post_delete.connect(_group_deleted, sender=Group, dispatch_uid=f"{uid}.group_del")
    post_save.connect(_quota_saved, sender=Quota, dispatch_uid=f"{uid}.quota_post")
    post_delete.connect(_quota_deleted, sender=Quota, dispatch_uid=f"{uid}.quota_del")
