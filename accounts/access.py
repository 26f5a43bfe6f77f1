"""Who may see and do what. Every view, partial and job start goes through these helpers.

Roles are Django groups: **admin** (hosts, users, everything; superusers count as admins),
**operator** (create and run domUs, fetch/upload ISOs, create volumes — on what they own or their
teams own), **viewer** (read only, own and team objects). Any other group a user is in is a *team*.
Objects a user may not see answer 404; actions a user may see but not do answer 403.
"""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from hosts.models import Host, Job

ADMIN_GROUP = "admin"
OPERATOR_GROUP = "operator"
VIEWER_GROUP = "viewer"
ROLE_GROUPS = (ADMIN_GROUP, OPERATOR_GROUP, VIEWER_GROUP)

User = AbstractBaseUser | AnonymousUser
M = TypeVar("M", bound=Model)


def _group_names(user: User) -> set[str]:
    cached = getattr(user, "_xenpanel_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))  # type: ignore[union-attr]
        user._xenpanel_groups = cached  # type: ignore[union-attr]
    return cached


def is_admin(user: User) -> bool:
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return ADMIN_GROUP in _group_names(user)


def can_operate(user: User) -> bool:
    """Admins and operators may change things; viewers only look."""
    return is_admin(user) or (user.is_authenticated and OPERATOR_GROUP in _group_names(user))


def role(user: User) -> str:
    if is_admin(user):
        return ADMIN_GROUP
    return OPERATOR_GROUP if can_operate(user) else VIEWER_GROUP


def require_admin(user: User) -> None:
    if not is_admin(user):
        raise PermissionDenied("Only administrators can do this.")


def require_operator(user: User) -> None:
    if not can_operate(user):
        raise PermissionDenied("Your role is read-only.")


# --- owned objects (Volume, IsoImage, Domain) ---------------------------------------------------
def owned_for_user(qs: QuerySet[M], user: User) -> QuerySet[M]:
    """Objects the user may see: all for admins, else their own and their teams'."""
    if is_admin(user):
        return qs
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(Q(owner=user) | Q(team__in=user.groups.all()))  # type: ignore[union-attr]


def get_owned_for_user(qs: QuerySet[M], user: User, code: str, *, write: bool = False) -> M:
    """The object with this code if the user may see it (404 otherwise); 403 if write is refused."""
    obj = owned_for_user(qs, user).filter(code=code).first()
    if obj is None:
        raise Http404("Not found")
    if write:
        require_operator(user)
    return obj


# --- jobs ---------------------------------------------------------------------------------------
def jobs_for_user(user: User) -> QuerySet[Job]:
    """Jobs the user may see: all for admins, else theirs and those on objects they may see."""
    qs = Job.objects.select_related("host", "requested_by")
    if is_admin(user):
        return qs
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(Q(requested_by=user) | _visible_target_keys(user))  # type: ignore[misc]


def _visible_target_keys(user: User) -> Q:
    """Match jobs whose target is a domU, volume or ISO the user may see (by `target_key`)."""
    from django.apps import apps
    from django.db.models import CharField, F, Value
    from django.db.models.functions import Cast, Concat

    from hosts.models import IsoImage, Volume

    def key(*parts: object) -> Concat:
        return Concat(
            *[Value(p) if isinstance(p, str) else Cast(p, CharField()) for p in parts],  # type: ignore[arg-type]
            output_field=CharField(),
        )

    domain = apps.get_model("domains", "Domain")
    keys = [
        owned_for_user(domain.objects.all(), user).annotate(k=key("domain:", F("pk"))),
        owned_for_user(Volume.objects.all(), user).annotate(
            k=key("volume:", F("host_id"), ":", F("dataset"))
        ),
        owned_for_user(IsoImage.objects.all(), user).annotate(
            k=key("iso:", F("host_id"), ":", F("file_name"))
        ),
    ]
    condition = Q()
    for qs in keys:
        condition |= Q(target_key__in=qs.values("k"))
    return condition


def get_job_for_user(user: User, code: str) -> Job:
    job = jobs_for_user(user).filter(code=code).first()
    if job is None:
        raise Http404("No such job")
    return job


# --- hosts: every signed-in user sees them (to place domUs); only admins change them ------------
def hosts_for_user(user: User) -> QuerySet[Host]:
    return Host.objects.all()


def get_host_for_user(user: User, code: str, *, write: bool = False) -> Host:
    host = hosts_for_user(user).filter(code=code).first()
    if host is None:
        raise Http404("No such host")
    if write:
        require_admin(user)
    return host
