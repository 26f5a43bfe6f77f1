"""Who may see and change hosts: every signed-in user sees them (to place domUs); admins change."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.access import User, require_admin
from hosts.models import Host


def hosts_for_user(user: User) -> QuerySet[Host]:
    return Host.objects.all()


def get_host_for_user(user: User, code: str, *, write: bool = False) -> Host:
    host = hosts_for_user(user).filter(code=code).first()
    if host is None:
        raise Http404("No such host")
    if write:
        require_admin(user)
    return host
