"""What the Users & teams pages show about people: role, teams, lockouts, use against quota.

Read-only helpers shared by `users_views` and `teams_views`. Lockouts are django-axes' records
(a user name and address pair locked after too many failed sign-ins, until the cool-off ends).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Model
from django.utils import timezone

from accounts import access, quotas
from accounts.models import Quota
from accounts.roles import ADMIN_GROUP, OPERATOR_GROUP, ROLE_GROUPS


def role_of(user: Any) -> str:
    """The user's role from their prefetched groups (no query per row, unlike `access.role`)."""
    names = {g.name for g in user.groups.all()}
    if user.is_superuser or ADMIN_GROUP in names:
        return ADMIN_GROUP
    return OPERATOR_GROUP if OPERATOR_GROUP in names else "viewer"


def teams_of(user: Any) -> list[Any]:
    """The user's teams from their prefetched groups, by name."""
    return sorted((g for g in user.groups.all() if g.name not in ROLE_GROUPS), key=lambda g: g.name)


def quota_of(owner: Any) -> Quota | None:
    """The owner's quota row if `select_related("quota")` found one."""
    try:
        return owner.quota
    except Quota.DoesNotExist:
        return None


# --- lockouts -------------------------------------------------------------------------------------
def _failure_limit() -> int:
    limit = getattr(settings, "AXES_FAILURE_LIMIT", 3)
    return limit if isinstance(limit, int) else 3  # a callable limit: axes' default


def lockouts(names: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Return {user name: addresses it is locked out from} for names locked now (one query)."""
    from axes.helpers import get_cool_off
    from axes.models import AccessAttempt

    attempts = AccessAttempt.objects.filter(failures_since_start__gte=_failure_limit())
    cool_off = get_cool_off()
    if cool_off is not None:
        # Past the cool-off axes lets the name in again; the record is only history then.
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    if names is not None:
        attempts = attempts.filter(username__in=list(names))
    found: dict[str, list[str]] = defaultdict(list)
    for name, address in attempts.values_list("username", "ip_address").order_by("ip_address"):
        found[name].append(address or "unknown address")
    return dict(found)


# --- use against quota ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Use:
    """One resource of one quota scope: how much is used, and the limit (None: unlimited)."""

    resource: str
    used: int
    limit: int | None

    @property
    def label(self) -> str:
        return quotas.LABELS[self.resource]

    @property
    def used_text(self) -> str:
        return _amount(self.resource, self.used)

    @property
    def limit_text(self) -> str:
        return "no limit" if self.limit is None else _amount(self.resource, self.limit)

    @property
    def percent(self) -> int:
        if not self.limit:
            return 100 if self.limit == 0 and self.used else 0
        return min(100, round(100 * self.used / self.limit))

    @property
    def bar_class(self) -> str:
        if self.limit is not None and self.used > self.limit:
            return "bg-danger"
        return "bg-warning" if self.percent >= 80 else "bg-success"


def _amount(resource: str, value: int) -> str:
    if value == 0:
        return "0"  # not "0 bytes" next to "of 2 GiB"
    return quotas.fmt(resource, value, counted=False)


def usage_rows(quota: Quota, *, limited_only: bool = False) -> list[Use]:
    """The use of each resource in the quota's scope (a user's own, or a team's shared)."""
    rows = []
    for resource in quotas.RESOURCES:
        limit = getattr(quota, resource)
        if limited_only and limit is None:
            continue
        try:
            used = quotas.usage(quota, resource)
        except LookupError:  # no app counts it (a trimmed-down project): show what is known
            continue
        rows.append(Use(resource, used, limit))
    return rows


def user_usage(user: Any) -> list[Use]:
    """Every resource the user owns, against their own quota (an unsaved one: unlimited)."""
    return usage_rows(quota_of(user) or Quota(user=user))


# --- what a team owns -----------------------------------------------------------------------------
def owned_by_team(viewer: Any, team: Any) -> list[tuple[str, list[str]]]:
    """Return [(kind, names)] of the objects given to `team`, for an admin `viewer`."""
    found = []
    for model, objects in access.visible_querysets(viewer):
        names = [str(obj) for obj in objects.filter(team=team).order_by("pk")[:20]]
        if names:
            found.append((_kind(model, len(names)), names))
    return found


def team_object_counts(viewer: Any) -> dict[int, int]:
    """Return {team id: how many objects were given to it}, one grouped query per model."""
    counts: dict[int, int] = defaultdict(int)
    for _model, objects in access.visible_querysets(viewer):
        grouped = objects.filter(team__isnull=False).values("team").annotate(n=Count("pk"))
        for row in grouped.order_by():
            counts[row["team"]] += row["n"]
    return dict(counts)


def _kind(model: type[Model], n: int) -> str:
    meta = model._meta
    if meta.model_name == "domain":  # the panel says domU everywhere; the model says domain
        return "domU" if n == 1 else "domUs"
    return str(meta.verbose_name if n == 1 else meta.verbose_name_plural)
