"""Forms of the Users & teams pages: a user with role, teams and quota in one form; a team.

A user's role is one of the role groups (admin, operator, viewer); their teams are every other
group they are in (`accounts.access`). Quota limits are optional: an empty field is unlimited,
and a quota with no limit left is removed rather than kept empty.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet

from accounts.models import Quota
from accounts.roles import ADMIN_GROUP, OPERATOR_GROUP, ROLE_GROUPS, VIEWER_GROUP
from accounts.widgets import style_form
from dom0 import validate
from dom0.errors import ValidationError as Dom0ValidationError
from dom0.units import human_bytes

User = get_user_model()
QUOTA_FIELDS = ("domus", "memory_mb", "vcpus", "disk_bytes", "iso_bytes")
ROLE_CHOICES = [
    (OPERATOR_GROUP, "Operator: creates and runs domUs, volumes and ISO images"),
    (VIEWER_GROUP, "Viewer: sees their own and their teams' objects, changes nothing"),
    (ADMIN_GROUP, "Admin: hosts, users, everything"),
]
#: A team name: what people type, without the role names (a team named "admin" would be a role).
TEAM_NAME_MAX = 150


def generate_password() -> str:
    """Return a password to show once: four groups of five letters and digits (~119 bits)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def teams() -> QuerySet[Group]:
    """Every group that is not a role: the teams."""
    return Group.objects.exclude(name__in=ROLE_GROUPS).order_by("name")


def _style(form: forms.Form) -> None:
    style_form(form)


class SizeField(forms.CharField):
    """A byte count typed the way ZFS prints it (20G, 1.5T), and shown again the same way."""

    def prepare_value(self, value: Any) -> Any:
        return human_bytes(value) if isinstance(value, int) else value

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]  # a size, not text
        text = (super().to_python(value) or "").strip()
        if not text:
            return None
        try:
            return validate.size(text, "size")
        except Dom0ValidationError as exc:
            raise forms.ValidationError(exc.sentence) from exc


class TeamsField(forms.ModelMultipleChoiceField):
    """Teams as checkboxes; a value no database integer holds is a bad choice, not a crash."""

    def clean(self, value: Any) -> Any:
        for item in value or []:
            text = str(item).strip()
            if text.lstrip("-").isdigit() and not -(2**63) <= int(text) < 2**63:
                raise forms.ValidationError(f"{text[:20]}… is not one of the teams.")
        return super().clean(value)


class QuotaFieldsMixin(forms.Form):
    """The quota limits of a user or a team, saved to its `Quota` row."""

    domus = forms.IntegerField(label="DomUs", required=False, min_value=0, max_value=100_000)
    memory_mb = forms.IntegerField(
        label="Memory (MiB)", required=False, min_value=0, max_value=2**31 - 1,
        help_text="Of the domUs that run at once.",
    )  # fmt: skip
    vcpus = forms.IntegerField(label="vCPUs", required=False, min_value=0, max_value=100_000)
    disk_bytes = SizeField(label="Disk", required=False, help_text="Volumes, e.g. 200G.")
    iso_bytes = SizeField(label="ISO storage", required=False, help_text="Images, e.g. 20G.")

    def clean_disk_bytes(self) -> int | None:
        return self._fits(self.cleaned_data.get("disk_bytes"))

    def clean_iso_bytes(self) -> int | None:
        return self._fits(self.cleaned_data.get("iso_bytes"))

    @staticmethod
    def _fits(value: int | None) -> int | None:
        if value is not None and value >= 2**63:
            raise forms.ValidationError("Must be at most 8 EiB.")
        return value

    def quota_initial(self, quota: Quota | None) -> dict[str, Any]:
        return {f: getattr(quota, f) for f in QUOTA_FIELDS} if quota else {}

    def limits(self) -> dict[str, int | None]:
        return {f: self.cleaned_data.get(f) for f in QUOTA_FIELDS}

    def save_quota(self, **owner: Any) -> None:
        """Write the limits: create, change or remove the owner's quota row (only if changed)."""
        limits = self.limits()
        quota = Quota.objects.filter(**owner).first()
        if all(v is None for v in limits.values()):
            if quota is not None:
                quota.delete()
            return
        if quota is not None and all(getattr(quota, f) == v for f, v in limits.items()):
            return  # unchanged: no audit line for a save that changes nothing
        quota = quota or Quota(**owner)
        for field, value in limits.items():
            setattr(quota, field, value)
        quota.save()


class UserForm(QuotaFieldsMixin):
    """Create or edit a user: name, email, role, teams, quota and (on create) a password."""

    username = forms.CharField(max_length=150, help_text="Letters, digits and @ . + - _")
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, widget=forms.RadioSelect, initial=OPERATOR_GROUP)
    teams = TeamsField(
        queryset=Group.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Operators and viewers see their teams' domUs, volumes and ISO images.",
    )  # fmt: skip
    is_active = forms.BooleanField(
        label="Active (may sign in)", required=False, initial=True,
        help_text="A deactivated user keeps their objects and their audit history.",
    )  # fmt: skip
    generate = forms.BooleanField(
        label="Generate a password (shown once)", required=False, initial=True
    )
    password1 = forms.CharField(
        label="Password", required=False, strip=False, widget=forms.PasswordInput
    )
    password2 = forms.CharField(
        label="Password again", required=False, strip=False, widget=forms.PasswordInput
    )

    def __init__(self, *args: Any, instance: Any = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            kwargs.setdefault("initial", self.initial_for(instance))
        super().__init__(*args, **kwargs)
        teams_field = self.fields["teams"]
        assert isinstance(teams_field, forms.ModelMultipleChoiceField)
        teams_field.queryset = teams()
        if instance is not None:
            for name in ("generate", "password1", "password2"):
                del self.fields[name]  # a password is reset on its own form
        _style(self)

    def initial_for(self, user: Any) -> dict[str, Any]:
        names = set(user.groups.values_list("name", flat=True))
        role = next((r for r in (ADMIN_GROUP, OPERATOR_GROUP, VIEWER_GROUP) if r in names), "")
        return {
            "username": user.username,
            "email": user.email,
            "role": ADMIN_GROUP if user.is_superuser else (role or VIEWER_GROUP),
            "teams": list(user.groups.exclude(name__in=ROLE_GROUPS)),
            "is_active": user.is_active,
            **self.quota_initial(Quota.objects.filter(user=user).first()),
        }

    def clean_username(self) -> str:
        name = self.cleaned_data["username"].strip()
        User.username_validator(name)
        taken = User.objects.filter(username__iexact=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"There is already a user named {name}.")
        return name

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        user = self.instance
        if user is not None and user.is_superuser and data.get("role") not in (None, ADMIN_GROUP):
            self.add_error(
                "role",
                f"{user.username} is a superuser, which always counts as admin; take that away "
                "in /admin/ first.",
            )
        if user is None and "generate" in self.fields and not data.get("generate"):
            one, two = data.get("password1") or "", data.get("password2") or ""
            if not one:
                self.add_error("password1", "Type a password, or tick “Generate a password”.")
            elif one != two:
                self.add_error("password2", "The two passwords differ.")
            else:
                probe = User(username=data.get("username", ""), email=data.get("email", ""))
                try:
                    password_validation.validate_password(one, probe)
                except forms.ValidationError as exc:
                    self.add_error("password1", exc)
        return data

    def would_remove_last_admin(self) -> bool:
        """Say whether saving leaves no active admin (the edited user was the last one).

        Call it inside the transaction that saves, after `lock_active_admins()`.
        """
        user = self.instance
        if user is None or not is_active_admin(user):
            return False
        stays = self.cleaned_data.get("is_active") and (
            user.is_superuser or self.cleaned_data.get("role") == ADMIN_GROUP
        )
        return not stays and not active_admins().exclude(pk=user.pk).exists()

    def password(self) -> tuple[str, bool]:
        """Return the new user's password and whether it was generated (to show it once)."""
        if self.cleaned_data.get("generate"):
            return generate_password(), True
        return self.cleaned_data["password1"], False

    def save_groups(self, user: Any) -> None:
        """Put the user in one role group and the chosen teams (one change per group)."""
        wanted = {Group.objects.get(name=self.cleaned_data["role"])} | set(
            self.cleaned_data["teams"]
        )
        current = set(user.groups.all())
        if gone := current - wanted:
            user.groups.remove(*gone)
        if new := wanted - current:
            user.groups.add(*new)


def active_admins() -> QuerySet[Any]:
    """Active users who are admins: superusers and members of the admin group."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=ADMIN_GROUP))
        .distinct()
    )


def is_active_admin(user: Any) -> bool:
    return active_admins().filter(pk=user.pk).exists()


def lock_active_admins() -> list[int]:
    """Lock the active admins' rows until the transaction ends; return their ids.

    `UserForm.would_remove_last_admin` reads who else is admin and the view then saves: run both
    after this, in one transaction, so a second save that could take away the last admin waits
    for the first and then sees it (PostgreSQL: FOR UPDATE; SQLite: the IMMEDIATE transaction
    already holds the write lock). Ordered by id, so two lockers never wait on each other.
    """
    # The admins as a subquery: FOR UPDATE is refused with DISTINCT and the join on groups.
    admins = active_admins().values("pk")
    locked = User.objects.select_for_update().filter(pk__in=admins).order_by("pk")
    return list(locked.values_list("pk", flat=True))


class PasswordResetForm(forms.Form):
    """A new password for a user: typed twice, or generated and shown once."""

    generate = forms.BooleanField(label="Generate one (shown once)", required=False)
    password1 = forms.CharField(
        label="New password", required=False, strip=False, widget=forms.PasswordInput
    )
    password2 = forms.CharField(
        label="Again", required=False, strip=False, widget=forms.PasswordInput
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        _style(self)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("generate"):
            return data
        one, two = data.get("password1") or "", data.get("password2") or ""
        if not one:
            raise forms.ValidationError("Type a new password twice, or tick “Generate one”.")
        if one != two:
            raise forms.ValidationError("The two passwords differ.")
        password_validation.validate_password(one, self.user)
        return data

    def password(self) -> tuple[str, bool]:
        if self.cleaned_data.get("generate"):
            return generate_password(), True
        return self.cleaned_data["password1"], False


class TeamForm(QuotaFieldsMixin):
    """A team's name and its quota (shared by everything its members and the team own)."""

    name = forms.CharField(max_length=TEAM_NAME_MAX)

    def __init__(self, *args: Any, instance: Group | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            quota = Quota.objects.filter(team=instance).first()
            kwargs.setdefault("initial", {"name": instance.name, **self.quota_initial(quota)})
        super().__init__(*args, **kwargs)
        # The team's name comes first on the page.
        self.order_fields(["name", *QUOTA_FIELDS])
        _style(self)

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the team a name.")
        if name.lower() in ROLE_GROUPS:
            raise forms.ValidationError(f"“{name}” is a role, not a team; choose another name.")
        taken = Group.objects.filter(name__iexact=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"There is already a team named {name}.")
        return name
