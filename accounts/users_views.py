"""The Users page for admins: list, create (role, teams and quota in one form), edit, reset a
password, unlock after a lockout. `/admin/` stays for emergencies.

Every change is audited by the receivers in `accounts.audit` (user saved, groups changed, quota
saved, password changed); what no signal tells (an unlock) is recorded here. A password is never
put in an entry, a message or a log line. A generated one is shown once: the POST that made it
keeps it in the session and redirects (POST/redirect/GET, so a reload sets no second password);
the GET that shows it takes it out of the session again. Pages that can show one are never cached.

Only a superuser changes a superuser: a panel admin who could reset a superuser's password
could sign in as them and use /admin/. Others see a superuser's page read-only, and every write
about one answers 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.forms import ModelMultipleChoiceField
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import access, audit, people
from accounts.admin_lookups import fits_int64
from accounts.forms import PasswordResetForm, UserForm, lock_active_admins
from accounts.models import AuditAction, AuditEntry

User = get_user_model()
PAGE_SIZE = 50
SECRET_FIELDS = ("password1", "password2")
#: The session key holding a generated password until the one GET that shows it.
SHOWN_KEY = "users.generated_password"
SUPERUSER_ONLY = "Only a superuser can change a superuser."


def _user(pk: int) -> Any:
    if not fits_int64(str(pk)):
        raise Http404("No such user.")  # a number no database column holds
    return get_object_or_404(User.objects.select_related("quota"), pk=pk)


def _url(user: Any) -> str:
    return reverse("users:detail", args=[user.pk])


def _read_only(request: HttpRequest, user: Any) -> bool:
    """Say whether the acting admin may only look at `user` (a superuser, and they are not)."""
    return bool(user.is_superuser and not getattr(request.user, "is_superuser", False))


def _require_may_change(request: HttpRequest, user: Any) -> None:
    if _read_only(request, user):
        raise PermissionDenied(SUPERUSER_ONLY)


def _show_once(request: HttpRequest, user: Any, password: str, done: str) -> HttpResponse:
    """Keep a generated password for the one GET that shows it, and redirect to that GET."""
    request.session[SHOWN_KEY] = {"pk": user.pk, "password": password, "done": done}
    return redirect(f"{_url(user)}?password=new")


def _take_shown(request: HttpRequest, user: Any) -> dict[str, Any]:
    """The generated password for this page, taken out of the session; or that it is gone."""
    kept = request.session.get(SHOWN_KEY)
    if isinstance(kept, dict) and kept.get("pk") == user.pk:
        del request.session[SHOWN_KEY]
        return {"new_password": kept["password"], "created": kept["done"]}
    return {"password_gone": True}  # a reload, or a second tab: it was shown already


def _no_store(response: HttpResponse) -> HttpResponse:
    # never_cache already says no-store; said again in case a later decorator or middleware
    # rewrites Cache-Control: a page with a password must not land in any cache.
    response["Cache-Control"] = "max-age=0, no-cache, no-store, must-revalidate, private"
    return response


def user_list(request: HttpRequest) -> HttpResponse:
    access.require_admin(request.user)
    q = request.GET.get("q", "").replace("\x00", "").strip()[:150]
    users = User.objects.order_by("username").select_related("quota").prefetch_related("groups")
    if q:
        users = users.filter(
            Q(username__icontains=q)
            | Q(email__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
        )
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    locked = people.lockouts(u.username for u in page.object_list)
    rows = []
    for user in page.object_list:
        role = people.role_of(user)
        quota = people.quota_of(user)
        rows.append(
            {
                "user": user,
                "role": role,
                "teams": people.teams_of(user),
                # Only limits set are counted (admins have none): a query per limit, not per row.
                "usage": people.usage_rows(quota, limited_only=True)
                if quota and role != access.ADMIN_GROUP
                else [],
                "locked": locked.get(user.username, []),
            }
        )
    return render(request, "accounts/users_list.html", {"page": page, "rows": rows, "q": q})


@never_cache
@sensitive_post_parameters(*SECRET_FIELDS)
def user_create(request: HttpRequest) -> HttpResponse:
    access.require_admin(request.user)
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password, generated = form.password()
        with transaction.atomic():
            user = User.objects.create_user(
                form.cleaned_data["username"],
                form.cleaned_data["email"],
                password,
                is_active=form.cleaned_data["is_active"],
            )
            form.save_groups(user)
            form.save_quota(user=user)
        done = f"Created {user.username} ({form.cleaned_data['role']})."
        if generated:
            return _show_once(request, user, password, done)
        messages.success(request, f"{done} They can sign in now with the password you typed.")
        return redirect(_url(user))
    return render(
        request, "accounts/user_new.html", {"form": form, "teams_exist": _teams_exist(form)}
    )


def _teams_exist(form: UserForm) -> bool:
    teams = form.fields["teams"]
    assert isinstance(teams, ModelMultipleChoiceField)
    return teams.queryset is not None and teams.queryset.exists()


def _detail_context(request: HttpRequest, user: Any, **extra: Any) -> dict[str, Any]:
    locked = people.lockouts([user.username]).get(user.username, [])
    own = people.quota_of(user)
    team_quotas = [
        (team, people.usage_rows(team.quota, limited_only=True))
        for team in user.groups.exclude(name__in=access.ROLE_GROUPS)
        .filter(quota__isnull=False)
        .select_related("quota")
        .order_by("name")
    ]
    history = AuditEntry.objects.filter(
        Q(target_type="user", target_label=user.username)
        | Q(target_type="quota", target_label=f"Quota of user {user.username}")
        | Q(actor=user)
    )[:12]
    return {
        "subject": user,
        "role": access.role(user),
        "is_admin_role": access.is_admin(user),
        "form": UserForm(instance=user),
        "password_form": PasswordResetForm(user=user),
        "usage": people.user_usage(user),
        "has_quota": own is not None,
        "team_quotas": team_quotas,
        "locked": locked,
        "history": history,
        "is_self": user.pk == request.user.pk,
        "read_only": _read_only(request, user),
        **extra,
    }


@never_cache
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access.require_admin(request.user)
    user = _user(pk)
    if request.method != "POST":
        extra = _take_shown(request, user) if request.GET.get("password") == "new" else {}
        page = render(request, "accounts/user_detail.html", _detail_context(request, user, **extra))
        return _no_store(page)
    _require_may_change(request, user)
    form = UserForm(request.POST, instance=user)
    last_admin = False
    if form.is_valid():
        with transaction.atomic():
            # Check and save under one lock on the admins' rows: two admins demoting each other
            # at once would otherwise each see the other still admin and leave none.
            lock_active_admins()
            last_admin = form.would_remove_last_admin()
            if not last_admin:
                user.username = form.cleaned_data["username"]
                user.email = form.cleaned_data["email"]
                user.is_active = form.cleaned_data["is_active"]
                # Only these fields: a password reset saved meanwhile must not be written back.
                user.save(update_fields=["username", "email", "is_active"])
                form.save_groups(user)
                form.save_quota(user=user)
    if last_admin:
        form.add_error(
            None,
            f"{user.username} is the last active admin: make another user admin first, or "
            "nobody could manage hosts and users any more.",
        )
    if not form.is_valid():
        context = _detail_context(request, user, form=form)
        return render(request, "accounts/user_detail.html", context)
    messages.success(request, f"Saved {user.username}.")
    return redirect(_url(user))


@never_cache
@require_POST
@sensitive_post_parameters(*SECRET_FIELDS)
def user_password(request: HttpRequest, pk: int) -> HttpResponse:
    access.require_admin(request.user)
    user = _user(pk)
    _require_may_change(request, user)
    form = PasswordResetForm(request.POST, user=user)
    if not form.is_valid():
        context = _detail_context(request, user, password_form=form)
        return render(request, "accounts/user_detail.html", context)
    password, generated = form.password()
    user.set_password(password)
    user.save(update_fields=["password"])  # audited as "Password changed" (never the password)
    if user.pk == request.user.pk:
        update_session_auth_hash(request, user)  # keep the admin who reset their own signed in
    done = f"Set a new password for {user.username}; their other sessions are signed out."
    if generated:
        return _show_once(request, user, password, done)
    messages.success(request, done)
    return redirect(_url(user))


@require_POST
def user_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    access.require_admin(request.user)
    user = _user(pk)
    _require_may_change(request, user)
    from axes.utils import reset

    cleared = reset(username=user.username)
    audit.record(
        AuditAction.USER_CHANGE,
        request=request,
        target=user,
        target_type="user",
        details={"unlocked": True, "failed sign-in records cleared": cleared},
    )
    if cleared:
        messages.success(
            request,
            f"Unlocked {user.username}: cleared {cleared} failed sign-in record"
            f"{'s' if cleared != 1 else ''}. They can sign in again now.",
        )
    else:
        messages.info(request, f"{user.username} was not locked out; nothing to clear.")
    return redirect(_url(user))
