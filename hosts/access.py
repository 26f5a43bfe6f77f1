"""Who may see and do what. Every view goes through these helpers.

Roles (the roles issue turns these into groups with permissions): superusers and members of the
"admin" group manage hosts and see every job; everyone else sees hosts read-only and their own jobs.
Objects a user may not see answer 404; actions a user may see but not do answer 403.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from hosts.models import Host, Job

ADMIN_GROUP = "admin"

User = AbstractBaseUser | AnonymousUser


def is_admin(user: User) -> bool:
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return user.groups.filter(name=ADMIN_GROUP).exists()  # type: ignore[union-attr]


def require_admin(user: User) -> None:
    if not is_admin(user):
        raise PermissionDenied("Only administrators can do this.")


def jobs_for_user(user: User) -> QuerySet[Job]:
    qs = Job.objects.select_related("host", "requested_by")
    if is_admin(user):
        return qs
    return qs.filter(requested_by=user)  # type: ignore[misc]


def get_job_for_user(user: User, code: str) -> Job:
    job = jobs_for_user(user).filter(code=code).first()
    if job is None:
        raise Http404("No such job")
    return job


def hosts_for_user(user: User) -> QuerySet[Host]:
    return Host.objects.all()


def get_host_for_user(user: User, code: str, *, write: bool = False) -> Host:
    host = hosts_for_user(user).filter(code=code).first()
    if host is None:
        raise Http404("No such host")
    if write:
        require_admin(user)
    return host
