"""In a real browser: an admin sets up migration access on a host page (confirm dialog, job),
and the section then shows the key's fingerprint and the host that trusts it."""

from __future__ import annotations

import time

import pytest

from hosts.models import Host
from tests.domains.support import refreshed_host
from tests.e2e.conftest import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_set_up_migration_access_from_the_host_page(worker, page, django_user_model, tmp_path):
    django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    source = refreshed_host("xen-a", tmp_path)
    refreshed_host("xen-b", tmp_path)
    Host.objects.filter(pk=source.pk).update(migration_transfer="direct")
    login(page, "admin", "pw-admin-123")
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(source.get_absolute_url())
    section = page.locator("#host-migration-access")
    assert "not made yet" in section.inner_text()
    assert "refused until the target accepts its key" in section.inner_text()
    assert "Let these hosts accept xen-a's migration key:" in section.inner_text()
    page.screenshot(path="/tmp/sA_access_before_1440.png", full_page=True)
    section.locator("button:text-is('Set up migration access')").click()
    modal = page.locator("#confirm-modal")
    modal.wait_for(state="visible")
    assert "authorized_keys" in modal.inner_text()
    page.screenshot(path="/tmp/sA_access_confirm_1440.png")
    page.click("#confirm-modal [data-confirm-ok]")
    page.wait_for_load_state()
    for _ in range(100):
        source.refresh_from_db()
        if source.migration_public_key:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    page.goto(source.get_absolute_url())
    text = page.inner_text("#host-migration-access")
    assert "SHA256:" in page.inner_text("[data-testid=ma-key]"), text
    assert page.inner_text("[data-testid=ma-trusted]") == "xen-b", text
    page.screenshot(path="/tmp/sA_access_after_1440.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(source.get_absolute_url())
    page.locator("#host-migration-access").screenshot(path="/tmp/sA_access_390.png")
