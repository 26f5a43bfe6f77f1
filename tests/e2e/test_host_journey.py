"""In a real browser: sign in, refresh a simulated host, watch its readiness fill in live."""

from __future__ import annotations

import pytest

from hosts.simhosts import create_sim_host
from tests.e2e.conftest import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_it_refreshes_a_host_and_the_page_updates_without_reload(
    worker, page, shot, django_user_model, tmp_path
):
    django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    ready = create_sim_host("xen-demo1", state_dir=tmp_path / "d1")
    create_sim_host("xen-lab2", profile="unready", state_dir=tmp_path / "d2")
    login(page, "admin", "pw-admin-123")
    shot("dashboard-empty")

    page.goto(ready.get_absolute_url())
    page.click("text=Refresh facts")
    # The body polls while the refresh job runs and stops once it has ended.
    page.wait_for_selector("table.readiness tr[data-status=pass]", timeout=30000)
    page.wait_for_function("!document.querySelector('#host-body[hx-trigger]')", timeout=30000)
    assert page.locator("table.readiness tr[data-status=pass]").count() == 10
    assert "Domain-0" in page.inner_text("#host-body")
    shot("host-ready")

    page.goto("/hosts/")
    page.click("text=xen-lab2")
    page.click("text=Refresh facts")
    page.wait_for_selector("table.readiness tr[data-status=fail]", timeout=30000)
    page.wait_for_function("!document.querySelector('#host-body[hx-trigger]')", timeout=30000)
    assert page.locator("table.readiness tr[data-status=fail]").count() == 2
    shot("host-unready")

    page.goto("/")
    shot("dashboard")
    page.goto("/jobs/")
    shot("jobs")
    page.click("text=Refresh xen-lab2")
    page.wait_for_selector("#job-progress[data-status=succeeded]")
    shot("job-detail")
