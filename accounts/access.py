"""Who may see and do what. Every view, partial and job start goes through these helpers.

Roles are Django groups: **admin** (hosts, users, everything; superusers count as admins),
**operator** (create and run domUs, fetch/upload ISOs, create volumes — on what they own or their
teams own), **viewer** (read only, own and team objects). Any other group a user is in is a *team*.
Objects a user may not see answer 404; actions a user may see but not do answer 403.

The apps that own objects register who may see them (`register_visible`), so that code here and
in the rooms between (a job's visibility follows its targets) can ask without importing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from accounts.roles import ADMIN_GROUP, OPERATOR_GROUP, ROLE_GROUPS, VIEWER_GROUP

__all__ = ["ADMIN_GROUP", "OPERATOR_GROUP", "ROLE_GROUPS", "VIEWER_GROUP"]

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
    # The panel's user model is auth.User (which has groups); the parameter's type names the
    # abstract base, which does not.
    return qs.filter(Q(owner=user) | Q(team__in=user.groups.all()))  # type: ignore[attr-defined]


def get_owned_for_user(qs: QuerySet[M], user: User, code: str, *, write: bool = False) -> M:
    """The object with this code if the user may see it (404 otherwise); 403 if write is refused."""
    obj = owned_for_user(qs, user).filter(code=code).first()
    if obj is None:
        raise Http404("Not found")
    if write:
        require_operator(user)
    return obj


# --- visibility providers -------------------------------------------------------------------
Visible = Callable[[Any], QuerySet[Any]]
_VISIBLE: dict[type[Model], Visible] = {}


def register_visible(model: type[Model], visible: Visible | None = None) -> None:
    """Say which objects of `model` a user may see (default: owned objects, `owned_for_user`)."""
    _VISIBLE[model] = visible or (lambda user: owned_for_user(model._default_manager.all(), user))


def visible_querysets(user: User) -> Iterator[tuple[type[Model], QuerySet[Any]]]:
    """Yield (model, objects the user may see) for every model an app registered."""
    for model, visible in _VISIBLE.items():
        yield model, visible(user)
