"""Who may see and act on which domU (the owned-object rules of `accounts.access`)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts import access
from accounts.access import User
from domains.models import Domain


def domains_for_user(user: User) -> QuerySet[Domain]:
    """DomUs the user may see: all for admins, else their own and their teams'."""
    return access.owned_for_user(Domain.objects.select_related("host"), user)


def get_domain_for_user(user: User, code: str, *, write: bool = False) -> Domain:
    """The domU with this code (404 for strangers; 403 when a read-only user asks to act)."""
    return access.get_owned_for_user(
        Domain.objects.select_related("host", "volume", "iso", "owner", "team"),
        user,
        code,
        write=write,
    )


def may_operate(user: User, domain: Domain) -> bool:
    """Whether the user may act on a domU they can see (and read its VNC password)."""
    return access.can_operate(user)
