"""The Users & teams pages: a user made with role, teams and quota in one POST, a password reset,
an unlock after a real django-axes lockout (failed sign-ins through the login page), the last
admin kept, teams created, renamed, joined, left and deleted — every change in the audit list,
no password in it or in the log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts import people
from accounts.models import AuditAction, AuditEntry, Quota
from domains.models import Domain
from hosts.simhosts import create_sim_host
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]
PASSWORD = "Quiet-Harbor-58"
TYPED = "Amber-Lantern-7741"


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    # The hasher is not under test; the default one costs a second per password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make(django_user_model: Any, name: str, role: str, *teams: Group) -> Any:
    user = django_user_model.objects.create_user(name, password=PASSWORD)
    user.groups.add(Group.objects.get(name=role), *teams)
    return user


@pytest.fixture
def ada(django_user_model: Any) -> Any:
    return make(django_user_model, "ada", "admin")


@pytest.fixture
def admin(ada: Any) -> Client:
    client = Client()
    client.force_login(ada)
    return client


def groups(user: Any) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def assert_not_cached(response: Any) -> None:
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def assert_no_secret_anywhere(secret: str, caplog: pytest.LogCaptureFixture) -> None:
    for entry in AuditEntry.objects.all():
        assert secret not in f"{entry.actor_name} {entry.target_label} {entry.details}"
    assert secret not in caplog.text


# --- create, edit -------------------------------------------------------------------------------
def test_it_creates_a_user_with_role_teams_and_quota_in_one_post(
    admin: Client, django_user_model: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    lab, ops = Group.objects.create(name="lab"), Group.objects.create(name="ops")
    response = admin.post(
        reverse("users:create"),
        {
            "username": "oscar", "email": "oscar@example.org", "role": "operator",
            "teams": [lab.pk, ops.pk], "is_active": "on", "domus": "2", "memory_mb": "4096",
            "vcpus": "4", "disk_bytes": "20G", "iso_bytes": "",
            "password1": TYPED, "password2": TYPED,
        },
    )  # fmt: skip
    oscar = django_user_model.objects.get(username="oscar")
    assert response.status_code == 302
    assert response["Location"] == reverse("users:detail", args=[oscar.pk])
    assert groups(oscar) == ["lab", "operator", "ops"]
    quota = Quota.objects.get(user=oscar)
    assert (quota.domus, quota.memory_mb, quota.vcpus, quota.disk_bytes, quota.iso_bytes) == (
        2, 4096, 4, 20 * 2**30, None,
    )  # fmt: skip
    assert oscar.check_password(TYPED) and oscar.email == "oscar@example.org"
    # One form, every part audited: the user, the role and teams, the quota.
    about_oscar = AuditEntry.objects.filter(target_label__contains="oscar")
    actions = set(about_oscar.values_list("action", flat=True))
    assert {AuditAction.USER_CHANGE, AuditAction.GROUP_CHANGE, AuditAction.QUOTA_CHANGE} <= actions
    assert set(about_oscar.values_list("actor_name", flat=True)) == {"ada"}
    assert_no_secret_anywhere(TYPED, caplog)
    # The new operator signs in with it.
    assert (
        Client().post(reverse("login"), {"username": "oscar", "password": TYPED}).status_code == 302
    )


def test_a_generated_password_is_shown_once_and_kept_nowhere(
    admin: Client, django_user_model: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = admin.post(
        reverse("users:create"),
        {"username": "vera", "role": "viewer", "is_active": "on", "generate": "on"},
    )
    vera = django_user_model.objects.get(username="vera")
    page = reverse("users:detail", args=[vera.pk])
    # POST/redirect/GET: a reload of what the browser shows is a GET, never a second create.
    assert response.status_code == 302 and response["Location"] == f"{page}?password=new"
    shown_page = admin.get(response["Location"])
    assert_not_cached(shown_page)
    shown = shown_page.context["new_password"]
    assert len(shown) >= 20 and shown in shown_page.content.decode()
    assert "Created vera (viewer)." in shown_page.content.decode()
    assert vera.check_password(shown) and groups(vera) == ["viewer"]
    assert not Quota.objects.filter(user=vera).exists()  # no limit typed: no quota row
    assert_no_secret_anywhere(shown, caplog)
    # Shown once: out of the session once shown; a reload says so, the plain page shows nothing.
    assert shown not in str(dict(admin.session.items()))
    reload = admin.get(response["Location"])
    assert shown not in reload.content.decode() and 'data-testid="password-gone"' in (
        reload.content.decode()
    )
    assert_not_cached(reload)
    assert shown not in admin.get(page).content.decode()
    vera.refresh_from_db()
    assert vera.check_password(shown)  # and the reload set no other password


def test_a_refused_create_names_the_field_and_makes_nobody(
    admin: Client, django_user_model: Any
) -> None:
    response = admin.post(
        reverse("users:create"),
        {"username": "ada", "role": "operator", "password1": "x", "password2": "y",
         "disk_bytes": "lots"},
    )  # fmt: skip
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "already a user named ada" in errors["username"][0]
    assert "disk_bytes" in errors and "password2" in errors
    assert django_user_model.objects.count() == 1


def test_editing_changes_role_teams_quota_and_deactivates(
    admin: Client, django_user_model: Any
) -> None:
    lab = Group.objects.create(name="lab")
    bob = make(django_user_model, "bob", "operator", lab)
    Quota.objects.create(user=bob, domus=1)
    url = reverse("users:detail", args=[bob.pk])
    page = admin.get(url)
    assert page.status_code == 200 and page.context["form"].initial["teams"] == [lab]
    response = admin.post(url, {"username": "bob", "email": "", "role": "viewer", "vcpus": "2"})
    assert response.status_code == 302
    bob.refresh_from_db()
    assert groups(bob) == ["viewer"] and not bob.is_active
    quota = Quota.objects.get(user=bob)
    assert (quota.domus, quota.vcpus) == (None, 2)
    changed = AuditEntry.objects.filter(action=AuditAction.USER_CHANGE, target_label="bob")
    assert any("is_active" in str(e.details) for e in changed)
    # Every limit emptied: the quota goes (audited too).
    admin.post(url, {"username": "bob", "role": "viewer", "is_active": "on"})
    assert not Quota.objects.filter(user=bob).exists()
    assert AuditEntry.objects.filter(
        action=AuditAction.QUOTA_CHANGE, details__deleted=True
    ).exists()


# --- the last admin -----------------------------------------------------------------------------
def test_the_last_admin_cannot_demote_or_deactivate_themselves(
    admin: Client, ada: Any, django_user_model: Any
) -> None:
    url = reverse("users:detail", args=[ada.pk])
    for data in (
        {"username": "ada", "role": "operator", "is_active": "on"},
        {"username": "ada", "role": "admin"},  # deactivated
    ):
        response = admin.post(url, data)
        assert response.status_code == 200
        assert "last active admin" in response.content.decode()
        ada.refresh_from_db()
        assert ada.is_active and "admin" in groups(ada)
    # With a second admin, stepping down is allowed.
    make(django_user_model, "root2", "admin")
    assert (
        admin.post(url, {"username": "ada", "role": "operator", "is_active": "on"}).status_code
        == 302
    )
    assert groups(ada) == ["operator"]


# --- password reset and unlock ------------------------------------------------------------------
def test_it_resets_a_password_typed_or_generated(
    admin: Client, django_user_model: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bob = make(django_user_model, "bob", "operator")
    url = reverse("users:password", args=[bob.pk])
    refused = admin.post(url, {"password1": TYPED, "password2": TYPED + "x"})
    assert refused.status_code == 200 and "differ" in refused.content.decode()
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)
    assert admin.post(url, {"password1": TYPED, "password2": TYPED}).status_code == 302
    bob.refresh_from_db()
    assert bob.check_password(TYPED)
    response = admin.post(url, {"generate": "on"})
    assert response.status_code == 302 and response["Cache-Control"].count("no-store") == 1
    page = admin.get(response["Location"])
    assert_not_cached(page)
    shown = page.context["new_password"]
    bob.refresh_from_db()
    assert bob.check_password(shown) and shown in page.content.decode()
    reload = admin.get(response["Location"])  # the browser's reload: no new password, none shown
    assert shown not in reload.content.decode() and reload.context["password_gone"]
    bob.refresh_from_db()
    assert bob.check_password(shown)
    changes = AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGE, target_label="bob")
    assert changes.count() == 2 and {e.actor_name for e in changes} == {"ada"}
    assert_no_secret_anywhere(TYPED, caplog)
    assert_no_secret_anywhere(shown, caplog)


def test_it_unlocks_a_user_after_a_real_lockout(
    admin: Client, django_user_model: Any, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    make(django_user_model, "olga", "operator")
    olga = django_user_model.objects.get(username="olga")
    browser = Client()
    for _ in range(3):
        browser.post(reverse("login"), {"username": "olga", "password": "wrong"})
    right = {"username": "olga", "password": PASSWORD}
    assert browser.post(reverse("login"), right).status_code == 429  # locked: refused anyway

    listing = admin.get(reverse("users:list"))
    row = next(r for r in listing.context["rows"] if r["user"] == olga)
    assert row["locked"] == ["127.0.0.1"]
    assert (
        'data-testid="locked"'
        in admin.get(reverse("users:detail", args=[olga.pk])).content.decode()
    )

    response = admin.post(reverse("users:unlock", args=[olga.pk]))
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(action=AuditAction.USER_CHANGE, target_label="olga").first()
    assert entry is not None and entry.actor_name == "ada" and entry.details["unlocked"] is True
    assert browser.post(reverse("login"), right).status_code == 302  # signed in now
    listing = admin.get(reverse("users:list"))
    assert not next(r for r in listing.context["rows"] if r["user"] == olga)["locked"]


# --- the list -----------------------------------------------------------------------------------
def test_the_list_shows_use_against_quota_and_searches(
    admin: Client, django_user_model: Any, tmp_path: Any
) -> None:
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    oscar = make(django_user_model, "oscar", "operator")
    Quota.objects.create(user=oscar, domus=4, memory_mb=2048)
    Domain.objects.create(host=host, name="web1", owner=oscar, memory_mb=1024, vcpus=1,
                          vnc_display=1, state="running")  # fmt: skip
    make(django_user_model, "zed", "viewer")
    page = admin.get(reverse("users:list"))
    body = page.content.decode()
    assert 'data-testid="user-oscar"' in body and 'data-testid="user-zed"' in body
    usage = {u.resource: (u.used, u.limit) for u in page.context["rows"][1]["usage"]}
    assert usage == {"domus": (1, 4), "memory_mb": (1024, 2048)}
    assert '1 GiB <span class="text-body-secondary">of 2 GiB' in body
    found = admin.get(reverse("users:list"), {"q": "OSC"}).context["rows"]
    assert [r["user"].username for r in found] == ["oscar"]


def test_the_list_costs_the_same_queries_for_ten_users_as_for_two(
    admin: Client, django_user_model: Any, django_assert_max_num_queries: Any
) -> None:
    lab = Group.objects.create(name="lab")
    make(django_user_model, "u0", "operator", lab)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        admin.get(reverse("users:list"))
    for i in range(1, 9):
        make(django_user_model, f"u{i}", "operator", lab)
    with django_assert_max_num_queries(len(few)):
        admin.get(reverse("users:list"))


# --- teams --------------------------------------------------------------------------------------
def test_teams_are_created_renamed_joined_left_and_deleted(
    admin: Client, django_user_model: Any
) -> None:
    bob = make(django_user_model, "bob", "operator")
    assert admin.post(reverse("users:teams"), {"name": "admin"}).status_code == 200  # a role
    response = admin.post(reverse("users:teams"), {"name": "lab", "domus": "3"})
    lab = Group.objects.get(name="lab")
    assert response.status_code == 302 and Quota.objects.get(team=lab).domus == 3
    url = reverse("users:team", args=[lab.pk])
    assert admin.post(url, {"name": "research", "domus": "3"}).status_code == 302
    lab.refresh_from_db()
    assert lab.name == "research"
    assert AuditEntry.objects.filter(details__renamed=["lab", "research"]).exists()
    members = reverse("users:team_members", args=[lab.pk])
    admin.post(members, {"action": "add", "user": bob.pk})
    assert groups(bob) == ["operator", "research"]
    admin.post(members, {"action": "remove", "user": bob.pk})
    assert groups(bob) == ["operator"]
    admin.post(members, {"action": "add", "user": bob.pk})
    delete = reverse("users:team_delete", args=[lab.pk])
    admin.post(delete, {"confirm": "resear"})
    assert Group.objects.filter(pk=lab.pk).exists()
    admin.post(delete, {"confirm": "research"})
    assert not Group.objects.filter(pk=lab.pk).exists() and groups(bob) == ["operator"]
    removed = AuditEntry.objects.filter(action=AuditAction.GROUP_CHANGE, target_label="research")
    assert any(e.details.get("removed") == ["bob"] for e in removed)
    assert any(e.details.get("deleted") for e in removed)


def test_a_team_that_owns_a_domu_is_not_deleted_and_says_which(
    admin: Client, django_user_model: Any, tmp_path: Any
) -> None:
    lab = Group.objects.create(name="lab")
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    Domain.objects.create(host=host, name="web1", team=lab, memory_mb=512, vnc_display=1)
    response = admin.post(
        reverse("users:team_delete", args=[lab.pk]), {"confirm": "lab"}, follow=True
    )
    assert Group.objects.filter(pk=lab.pk).exists()
    message = str(next(iter(response.context["messages"])))
    assert "still owns" in message and "web1" in message


def test_only_admins_get_in_and_roles_are_not_teams(django_user_model: Any, ada: Any) -> None:
    lab = Group.objects.create(name="lab")
    oscar = make(django_user_model, "oscar", "operator", lab)
    client = Client()
    client.force_login(oscar)
    gets = [("users:list", []), ("users:create", []), ("users:detail", [ada.pk]),
            ("users:teams", []), ("users:team", [lab.pk])]  # fmt: skip
    for name, args in gets:
        assert client.get(reverse(name, args=args)).status_code == 403, name
    for name in ("users:password", "users:unlock", "users:team_members", "users:team_delete"):
        pk = lab.pk if name.startswith("users:team") else ada.pk
        assert client.post(reverse(name, args=[pk])).status_code == 403, name
    admin = Client()
    admin.force_login(ada)
    operator = Group.objects.get(name="operator")
    assert admin.get(reverse("users:team", args=[operator.pk])).status_code == 404
    assert admin.get(reverse("users:detail", args=[10**6])).status_code == 404
    assert admin.get(f"/users/{2**70}/").status_code == 404


# --- superusers: only a superuser changes one ---------------------------------------------------
def test_an_admin_sees_a_superuser_read_only_and_every_write_is_refused(
    admin: Client, django_user_model: Any, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    for _ in range(3):  # locked out, so the unlock has something to refuse
        Client().post(reverse("login"), {"username": "root", "password": "wrong"})
    page = admin.get(reverse("users:detail", args=[root.pk]))
    body = page.content.decode()
    assert page.status_code == 200 and page.context["read_only"]
    assert "only a superuser can change a superuser" in body
    unlock = reverse("users:unlock", args=[root.pk])
    assert 'data-testid="password-form"' not in body and unlock not in body
    assert "<fieldset disabled>" in body
    before = django_user_model.objects.get(pk=root.pk)
    writes = [
        ("users:detail", {"username": "owned", "role": "admin", "is_active": ""}),
        ("users:password", {"generate": "on"}),
        ("users:password", {"password1": TYPED, "password2": TYPED}),
        ("users:unlock", {}),
    ]
    for name, data in writes:
        response = admin.post(reverse(name, args=[root.pk]), data)
        assert response.status_code == 403, (name, data)
    root.refresh_from_db()
    assert (root.username, root.is_active, root.password) == (
        before.username, before.is_active, before.password,
    )  # fmt: skip
    assert root.check_password(PASSWORD) and not root.check_password(TYPED)
    assert "root" in people.lockouts(["root"])  # still locked: the refused unlock cleared nothing
    assert not AuditEntry.objects.filter(target_label="root", actor_name="ada").exists()


def test_a_superuser_may_change_another_superuser(django_user_model: Any) -> None:
    django_user_model.objects.create_superuser("boss", password=PASSWORD)
    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    client = Client()
    client.force_login(django_user_model.objects.get(username="boss"))
    page = client.get(reverse("users:detail", args=[root.pk]))
    assert not page.context["read_only"] and 'data-testid="password-form"' in page.content.decode()
    url = reverse("users:password", args=[root.pk])
    assert client.post(url, {"password1": TYPED, "password2": TYPED}).status_code == 302
    root.refresh_from_db()
    assert root.check_password(TYPED)
    detail = reverse("users:detail", args=[root.pk])
    assert client.post(detail, {"username": "root", "role": "admin"}).status_code == 302
    root.refresh_from_db()
    assert not root.is_active  # deactivated by a superuser: allowed (boss is still admin)
