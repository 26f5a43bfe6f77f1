"""In a real browser: the edit page's diff preview follows what is typed, before any save."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.domains.support import create_via_form, poll
from tests.e2e.conftest import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _diff_has(page, text: str) -> None:
    page.wait_for_function(
        "t => document.querySelector('[data-testid=edit-diff]').textContent.includes(t)",
        arg=text,
    )


def test_typing_a_new_memory_value_updates_the_diff_preview(
    worker, page, client, django_user_model, tmp_path
):
    from hosts.simhosts import create_sim_host

    admin = django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    host = create_sim_host("xen-edit", state_dir=tmp_path / "e1")
    poll(host)
    client.force_login(admin)
    domain, job = create_via_form(client, host, "web1", memory_mb=1024)
    assert job.status == "succeeded", job.error
    versions = domain.versions.count()

    login(page, "admin", "pw-admin-123")
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(domain.get_absolute_url())
    page.click("#domain-live .actions a:text-is('Edit')")
    page.wait_for_url("**/edit/")
    assert "No change to the config file yet" in page.inner_text("#edit-preview")

    page.fill("#id_maxmem_mb", "4096")
    _diff_has(page, "+maxmem = 4096")
    page.fill("#id_memory_mb", "1536")
    _diff_has(page, "+memory = 1536")
    _diff_has(page, "-memory = 1024")
    page.check("#id_add_nic")
    new_mac = page.input_value("#id_add_nic_mac")
    _diff_has(page, f"+    'bridge=bridge0,mac={new_mac}',")
    plan = page.inner_text("[data-testid=edit-plan]")
    assert "maxmem" in plan and "At the next start" in plan and "restart pending" in plan
    assert f"add NIC {new_mac} on bridge0" in plan
    # Nothing was saved: the preview is only a preview.
    assert domain.versions.count() == versions

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "edit.png"), full_page=True)
