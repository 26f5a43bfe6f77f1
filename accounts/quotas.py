"""Quotas: what a user (and each team they are in) may hold, checked on every action that uses it.

What counts, per resource:

- **memory** and **vCPUs**: the domUs that run (or are meant to: being started, `should_run`),
  so starting a domU is checked as well as creating one;
- **domUs**: how many domUs exist;
- **disk**: the sizes of ZFS volumes;
- **ISO storage**: the sizes of ISO images (an image still being fetched counts once its size is
  known; a fetch is refused when nothing is left).

A *user* quota counts what that user owns. A *team* quota counts what the team shares: objects
owned by its members or given to the team. An action must fit every quota that applies to the
owner of what it creates or starts — their own and each of their teams'. Admins have no limits.
Empty limits are unlimited.

The apps that own the counted objects register how to count them (`register_usage`): domains
counts memory, vCPUs and domUs; storage counts disk and ISO storage. This module imports none of
them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Model, Q, QuerySet, Sum

from accounts import access
from accounts.models import Quota
from dom0.units import binary_size, mib_size

RESOURCES = ("memory_mb", "vcpus", "disk_bytes", "iso_bytes", "domus")
LABELS = {
    "memory_mb": "memory",
    "vcpus": "vCPUs",
    "disk_bytes": "disk",
    "iso_bytes": "ISO storage",
    "domus": "domUs",
}


def fmt(resource: str, value: int, *, counted: bool = True) -> str:
    """Return a value as people read it: 4 GiB, 512 MiB, 20 GiB, 2 vCPUs, 3 domUs.

    Sizes in the panel's one format (`dom0.units`, powers of 1024 written KiB/MiB/GiB); counts
    with their noun, or bare when `counted` is False (a table whose row already names it).
    """
    if resource in ("disk_bytes", "iso_bytes"):
        return binary_size(value)
    if resource == "memory_mb":
        return mib_size(value)
    if not counted:
        return str(value)
    if resource == "vcpus":
        return f"{value} vCPU" + ("s" if value != 1 else "")
    return f"{value} domU" + ("s" if value != 1 else "")


class QuotaExceeded(Exception):
    """An action would take more than a quota allows; the message names resource, limit, use."""

    def __init__(self, resource: str, scope: str, limit: int, used: int, wanted: int) -> None:
        self.resource, self.scope = resource, scope
        self.limit, self.used, self.wanted = limit, used, wanted
        left = max(0, limit - used)
        super().__init__(
            f"Quota exceeded for {LABELS[resource]}: the limit of {scope} is "
            f"{fmt(resource, limit)}, {fmt(resource, used)} in use, {fmt(resource, left)} left; "
            f"this needs {fmt(resource, wanted)}."
        )


@dataclass(frozen=True)
class Remaining:
    """One quota row for a form: resource, whose limit, the limit, use, and what is left."""

    resource: str
    scope: str
    limit: int
    used: int

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def label(self) -> str:
        return LABELS[self.resource]

    def __str__(self) -> str:
        return (
            f"{fmt(self.resource, self.left)} left of {fmt(self.resource, self.limit)}"
            f" ({self.scope})"
        )


# --- what applies to whom ------------------------------------------------------------------------
def quotas_for(user: Any) -> list[Quota]:
    """Return the user's own quota and their teams' (none for admins or anonymous)."""
    if user is None or not user.is_authenticated or access.is_admin(user):
        return []
    teams = user.groups.exclude(name__in=access.ROLE_GROUPS)
    qs = Quota.objects.select_related("user", "team").filter(Q(user=user) | Q(team__in=teams))
    if connection.in_atomic_block:
        # Two creates checked at once must not both see the same use: the second waits on the
        # quota rows until the first has written what it takes (PostgreSQL; SQLite's IMMEDIATE
        # transactions already serialise writers).
        qs = qs.select_for_update(of=("self",))
    return list(qs)


def _scope_filter(quota: Quota) -> Q:
    if quota.user_id:
        return Q(owner_id=quota.user_id)
    members = _team(quota).user_set.all()
    return Q(owner__in=members) | Q(team_id=quota.team_id)


def _scope_label(quota: Quota) -> str:
    if quota.user is not None:  # no query when user_id is None
        return f"user {quota.user.get_username()}"
    return f"team {_team(quota).name}"


def _team(quota: Quota) -> Group:
    """The team of a quota that has no user (the `quota_user_xor_team` constraint)."""
    if quota.team is None:
        raise ValueError(f"Quota {quota.pk} has neither a user nor a team.")
    return quota.team


def _sum(qs: QuerySet[Any], field: str) -> int:
    return int(qs.aggregate(total=Sum(field))["total"] or 0)


#: How an app counts one resource: (objects of the quota's scope, the object to leave out) -> use.
Usage = Callable[[Q, "Model | None"], int]
_USAGE: dict[str, Usage] = {}


def register_usage(resource: str, count: Usage) -> None:
    """Say how `resource` is counted; `count(scope, exclude)` gets a filter on owner/team."""
    if resource not in RESOURCES:
        raise ValueError(f"unknown quota resource {resource!r}")
    _USAGE[resource] = count


def sum_usage(qs: QuerySet[Any], field: str, scope: Q, exclude: Model | None) -> int:
    """Return the sum of `field` over the scope's objects in `qs`, leaving out `exclude`."""
    qs = qs.filter(scope)
    if exclude is not None and isinstance(exclude, qs.model):
        qs = qs.exclude(pk=exclude.pk)
    return _sum(qs, field)


def usage(quota: Quota, resource: str, *, exclude: Model | None = None) -> int:
    """Return how much of `resource` the quota's user or team holds (leaving out `exclude`)."""
    try:
        count = _USAGE[resource]
    except KeyError:
        raise LookupError(f"no app counts the quota resource {resource!r}") from None
    return count(_scope_filter(quota), exclude)


# --- checking and showing -----------------------------------------------------------------------
def check(owner: Any, *, exclude: Model | None = None, **wanted: int) -> None:
    """Raise QuotaExceeded if `owner` taking `wanted` (e.g. memory_mb=2048) breaks a quota.

    `exclude` is the object being created or started, left out of the current use so the check
    reads the same whether its row exists yet or not (and on a second click).
    """
    wanted = {k: int(v) for k, v in wanted.items() if v}
    unknown = set(wanted) - set(RESOURCES)
    if unknown:
        raise ValueError(f"unknown quota resources: {sorted(unknown)}")
    for quota in quotas_for(owner):
        for resource, amount in wanted.items():
            limit = getattr(quota, resource)
            if limit is None:
                continue
            used = usage(quota, resource, exclude=exclude)
            if used + amount > limit:
                raise QuotaExceeded(resource, _scope_label(quota), limit, used, amount)


def allowance(owner: Any, resource: str, *, exclude: Model | None = None) -> int | None:
    """Return how much of `resource` the owner may still take (None: no quota limits it)."""
    lefts = [
        max(0, getattr(quota, resource) - usage(quota, resource, exclude=exclude))
        for quota in quotas_for(owner)
        if getattr(quota, resource) is not None
    ]
    return min(lefts) if lefts else None


def remaining(user: Any, resources: tuple[str, ...] = RESOURCES) -> list[Remaining]:
    """Return, for each limited resource, what the user has left under each quota."""
    rows = []
    for quota in quotas_for(user):
        for resource in resources:
            limit = getattr(quota, resource)
            if limit is not None:
                rows.append(Remaining(resource, _scope_label(quota), limit, usage(quota, resource)))
    return rows


def remaining_text(user: Any, resource: str) -> str:
    """Return 'Quota: 2 GiB left of 4 GiB (user alice)' for a form's help text, or ''."""
    rows = remaining(user, (resource,))
    return "Quota: " + "; ".join(str(row) for row in rows) if rows else ""
