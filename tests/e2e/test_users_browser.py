"""In a browser: an admin opens Users from the panel's navigation (not the Django admin), adds an
operator with a team and a quota in one form, copies the generated password shown once, and the
new operator signs in with it. Screenshots of every page at 1440 and 390 px wide; at 390 px no
page is wider than the screen."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditAction, AuditEntry, Quota
from domains.models import Domain
from hosts.simhosts import create_sim_host
from tests.e2e.conftest import login
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles"),
]
ADMIN_PW = "Root-pw-for-e2e-1"
WIDE, PHONE = 1440, 390


def page_width(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("document.documentElement.scrollWidth"))


def both_widths(page, shot, name: str) -> None:  # type: ignore[no-untyped-def]
    """Screenshot the page at 1440 px and at 390 px; at 390 px nothing may stick out."""
    page.set_viewport_size({"width": WIDE, "height": 900})
    shot(f"users-{name}-{WIDE}")
    page.set_viewport_size({"width": PHONE, "height": 844})
    page.wait_for_timeout(100)
    shot(f"users-{name}-{PHONE}")
    assert page_width(page) <= PHONE, f"{name} is {page_width(page)} px wide at {PHONE} px"
    page.set_viewport_size({"width": WIDE, "height": 900})


def test_an_admin_adds_an_operator_with_team_and_quota_in_one_form(
    page, shot, tmp_path, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    django_user_model.objects.create_superuser("root", "root@example.com", ADMIN_PW)
    lab = Group.objects.create(name="lab")
    Group.objects.create(name="research")
    zed = django_user_model.objects.create_user("zed", "zed@example.org")
    zed.groups.add(Group.objects.get(name="operator"), lab)
    Quota.objects.create(user=zed, domus=2, memory_mb=2048, vcpus=4)
    Domain.objects.create(
        host=host, name="zed-db", owner=zed, team=lab, memory_mb=1536, vcpus=2, vnc_display=2,
        state="running",
    )  # fmt: skip

    login(page, "root", ADMIN_PW)
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.click("nav >> text=Users")
    page.wait_for_url("**/users/")
    assert page.locator("[data-testid=user-zed]").inner_text().count("of 2 GiB") == 1
    both_widths(page, shot, "list")

    page.click("text=Add user")
    page.wait_for_url("**/users/new/")
    page.fill("#id_username", "oscar")
    page.fill("#id_email", "oscar@example.org")
    page.check("input[name=role][value=operator]")
    page.check(f"input[name=teams][value='{lab.pk}']")
    page.fill("#id_domus", "1")
    page.fill("#id_memory_mb", "2048")
    page.fill("#id_disk_bytes", "20G")
    assert page.is_checked("#id_generate")  # a generated password unless one is typed
    both_widths(page, shot, "new")
    page.click("button:has-text('Add user')")

    shown = page.locator("[data-testid=password-value]")
    shown.wait_for()
    password = shown.inner_text().strip()
    assert len(password) >= 20
    assert page.locator("[data-testid=new-password] [data-copy]").get_attribute("data-copy") == (
        password
    )
    both_widths(page, shot, "created")
    oscar = django_user_model.objects.get(username="oscar")
    assert sorted(oscar.groups.values_list("name", flat=True)) == ["lab", "operator"]
    quota = Quota.objects.get(user=oscar)
    assert (quota.domus, quota.memory_mb, quota.disk_bytes) == (1, 2048, 20 * 2**30)
    assert AuditEntry.objects.filter(action=AuditAction.USER_CHANGE, target_label="oscar").exists()

    page.click("nav >> text=Users")
    page.wait_for_url("**/users/")
    page.click("a:has-text('lab')")
    page.wait_for_url("**/users/teams/*/")
    assert "zed-db" in page.locator("body").inner_text()  # what the team owns, by name
    both_widths(page, shot, "team")
    page.goto("/users/teams/")
    both_widths(page, shot, "teams")

    # The new operator signs in with the password shown once.
    page.click("text=Sign out")
    login(page, "oscar", password)
    assert page.locator("[data-testid=role]").inner_text() == "operator"
