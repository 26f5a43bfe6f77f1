"""In a browser, with the Content-Security-Policy enforced: an admin makes an operator in a team
with a quota (in the admin pages); the operator signs in, sees only their own domUs, and is
refused a domU past the quota. No page may violate the CSP along the way."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditEntry, Quota
from domains.models import Domain
from hosts.simhosts import create_sim_host
from tests.e2e.conftest import ARTIFACTS, login
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]
ADMIN_PW = "Root-pw-for-e2e-1"
OSCAR_PW = "Oscar-pw-for-e2e-2"


@pytest.fixture
def csp_page(browser, live_server):  # type: ignore[no-untyped-def]
    """A page that does NOT bypass the CSP, and the list of violations it reported."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.violations = violations  # type: ignore[attr-defined]
    yield page
    context.close()


def snap(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_it_lets_an_admin_make_a_quota_bound_operator(
    csp_page, tmp_path, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    page = csp_page
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    django_user_model.objects.create_superuser("root", "root@example.com", ADMIN_PW)
    zed = django_user_model.objects.create_user("zed")
    zed.groups.add(Group.objects.get(name="operator"))
    Domain.objects.create(host=host, name="zed-db", owner=zed, memory_mb=512, vnc_display=2)
    Group.objects.create(name="lab")

    # The admin: the panel's nav leads to the users; add oscar, then role, team and quota.
    login(page, "root", ADMIN_PW)
    # (The nav's Users now opens the panel's own page; this journey checks /admin/ still works.)
    page.goto("/admin/auth/user/")
    page.click(".object-tools a.addlink")
    page.fill("#id_username", "oscar")
    page.fill("#id_password1", OSCAR_PW)
    page.fill("#id_password2", OSCAR_PW)
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/auth/user/*/change/**")
    page.select_option("#id_groups_from", label=["lab", "operator"])
    page.click("#id_groups_add")
    page.fill("#id_quota-0-domus", "1")
    page.fill("#id_quota-0-memory_mb", "2048")
    page.fill("#id_quota-0-disk_bytes", "20G")  # sizes typed as ZFS prints them
    snap(page, "roles-admin-user")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/auth/user/")
    oscar = django_user_model.objects.get(username="oscar")
    assert sorted(oscar.groups.values_list("name", flat=True)) == ["lab", "operator"]
    quota = Quota.objects.get(user=oscar)
    assert (quota.domus, quota.memory_mb, quota.disk_bytes) == (1, 2048, 20 * 2**30)
    page.click("text=Log out") if page.locator("text=Log out").count() else None
    Domain.objects.create(host=host, name="oscar-web", owner=oscar, memory_mb=512, vnc_display=1)

    # The operator: only their own domU is listed, and a second one is refused.
    context = page.context
    context.clear_cookies()
    login(page, "oscar", OSCAR_PW)
    assert page.locator("[data-testid=role]").inner_text() == "operator"
    assert page.locator("nav >> text=Audit").count() == 0
    page.goto("/domains/")
    body = page.locator("main").inner_text()
    assert "oscar-web" in body and "zed-db" not in body
    page.goto("/domains/new/")
    assert "0 domUs left of 1 domU (user oscar)" in page.locator("main").inner_text()
    page.fill("#id_name", "second")
    page.click("#domain-form button[type=submit]")
    error = page.locator(".field-error[data-field=name]")
    error.wait_for()
    assert "Quota exceeded for domUs" in error.inner_text()
    snap(page, "roles-operator-refused")
    assert not Domain.objects.filter(name="second").exists()
    assert page.goto("/admin/").url.endswith("/admin/login/?next=/admin/")
    # Pages whose scripts moved to static files for the CSP still work under it.
    page.goto(f"/storage/hosts/{host.code}/volumes/new/")
    page.fill("#id_name", "scratch0")
    assert page.locator('[data-preview="name"]').inner_text() == "scratch0"
    own = Domain.objects.get(name="oscar-web")
    page.goto(f"/console/{own.code}/")
    page.wait_for_load_state("networkidle")

    # Back as the admin: the audit list has the group change and oscar's sign-in.
    context.clear_cookies()
    login(page, "root", ADMIN_PW)
    page.click("nav >> text=Audit")
    page.wait_for_url("**/audit/")
    text = page.locator("main").inner_text()
    assert "Group membership changed" in text and "Quota changed" in text and "oscar" in text
    snap(page, "roles-audit")
    assert AuditEntry.objects.filter(action="login", actor_name="oscar").exists()
    assert page.violations == []  # type: ignore[attr-defined]
