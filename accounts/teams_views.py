"""The Teams page for admins: list and create teams, rename, set a team's quota, add and remove
members, delete (refused while the team still owns domUs, volumes, ISO images or templates).

A team is any group that is not a role (`accounts.access`); role groups answer 404 here. Group
creation, deletion, membership and quota changes are audited by `accounts.audit`'s receivers;
a rename (no signal tells it) is recorded here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import access, audit, people
from accounts.admin_lookups import fits_int64
from accounts.forms import TeamForm, teams
from accounts.models import AuditAction, Quota

User = get_user_model()


def _team(pk: int) -> Group:
    if not fits_int64(str(pk)):
        raise Http404("No such team.")  # a number no database column holds
    return get_object_or_404(teams().select_related("quota"), pk=pk)


def _url(team: Group) -> str:
    return reverse("users:team", args=[team.pk])


def team_list(request: HttpRequest) -> HttpResponse:
    access.require_admin(request.user)
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            team = Group.objects.create(name=form.cleaned_data["name"])
            form.save_quota(team=team)
        messages.success(request, f"Created team {team.name}. Add its members below.")
        return redirect(_url(team))
    owned = people.team_object_counts(request.user)
    rows = [
        {
            "team": team,
            "members": team.members,
            "owned": owned.get(team.pk, 0),
            "usage": people.usage_rows(quota, limited_only=True)
            if (quota := people.quota_of(team))
            else [],
        }
        for team in teams().select_related("quota").annotate(members=Count("user"))
    ]
    return render(request, "accounts/teams_list.html", {"rows": rows, "form": form})


def _detail_context(request: HttpRequest, team: Group, **extra: Any) -> dict[str, Any]:
    members = team.user_set.order_by("username").prefetch_related("groups")
    quota = people.quota_of(team)
    return {
        "team": team,
        "form": TeamForm(instance=team),
        "members": [(u, people.role_of(u)) for u in members],
        "others": User.objects.exclude(groups=team).order_by("username"),
        "usage": people.usage_rows(quota, limited_only=True) if quota else [],
        "owned": people.owned_by_team(request.user, team),
        **extra,
    }


def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require_admin(request.user)
    team = _team(pk)
    if request.method != "POST":
        return render(request, "accounts/team_detail.html", _detail_context(request, team))
    form = TeamForm(request.POST, instance=team)
    if not form.is_valid():
        return render(
            request, "accounts/team_detail.html", _detail_context(request, team, form=form)
        )
    old = team.name
    with transaction.atomic():
        if form.cleaned_data["name"] != old:
            team.name = form.cleaned_data["name"]
            team.save(update_fields=["name"])
            audit.record(
                AuditAction.GROUP_CHANGE,
                request=request,
                target=team,
                target_type="group",
                details={"renamed": [old, team.name]},
            )
        form.save_quota(team=team)
    messages.success(request, f"Saved team {team.name}.")
    return redirect(_url(team))


@require_POST
def team_members(request: HttpRequest, pk: int) -> HttpResponse:
    access.require_admin(request.user)
    team = _team(pk)
    action = request.POST.get("action", "")
    raw = request.POST.get("user", "").strip()
    user = User.objects.filter(pk=int(raw)).first() if raw.isdigit() and fits_int64(raw) else None
    if action not in ("add", "remove") or user is None:
        messages.error(request, "Choose a user to add to or remove from the team.")
        return redirect(_url(team))
    if action == "add":
        team.user_set.add(user)  # audited as a group membership change
        messages.success(request, f"Added {user.username} to {team.name}.")
    else:
        team.user_set.remove(user)
        messages.success(
            request,
            f"Removed {user.username} from {team.name}. What they own stays theirs; they no "
            "longer see the team's objects.",
        )
    return redirect(_url(team))


@require_POST
def team_delete(request: HttpRequest, pk: int) -> HttpResponse:
    access.require_admin(request.user)
    team = _team(pk)
    owned = people.owned_by_team(request.user, team)
    if owned:
        listed = "; ".join(f"{kind} {', '.join(names)}" for kind, names in owned)
        messages.error(
            request,
            f"Team {team.name} still owns {listed}. Give them to another team or delete them "
            "first: deleting the team would leave them visible to their owners only.",
        )
        return redirect(_url(team))
    if request.POST.get("confirm", "") != team.name:
        messages.error(request, f"Type the team's name ({team.name}) to delete it.")
        return redirect(_url(team))
    name = team.name
    members = sorted(team.user_set.values_list("username", flat=True))
    with transaction.atomic():
        if members:
            # Deleting a group drops its memberships without a signal: say who was in it.
            audit.record(
                AuditAction.GROUP_CHANGE,
                request=request,
                target=team,
                target_type="group",
                details={"removed": members},
            )
        # The quota first, while its team still exists: the audit receiver names the quota by
        # its team, which a cascade would already have deleted.
        Quota.objects.filter(team=team).delete()
        team.delete()  # audited
    messages.success(
        request, f"Deleted team {name}; its {len(members)} member(s) keep their accounts."
    )
    return redirect("users:teams")
