"""In a real browser: move a running domU to another simulated host from its page and watch the
job's progress bar reach 100 % (storage migration: its ZFS volume is copied)."""

from __future__ import annotations

from pathlib import Path

import pytest

from domains.models import Domain
from tests.domains.support import create_via_form, refreshed_host
from tests.e2e.conftest import login, watch_bar

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BAR = "[aria-label='Job progress']"


def test_migrate_a_running_domu_from_its_page(worker, page, client, django_user_model, tmp_path):
    admin = django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    # Sibling state directories: each simulated host's ssh finds the other by its name.
    source = refreshed_host("xen-a", tmp_path, full=True)
    target = refreshed_host("xen-b", tmp_path, full=True)
    client.force_login(admin)
    domain, job = create_via_form(client, source, "web1", memory_mb=512, disk_gib=1)
    assert job.status == "succeeded", job.error

    login(page, "admin", "pw-admin-123")
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(domain.get_absolute_url())
    page.click("#domain-live .actions a:text-is('Migrate')")
    page.wait_for_url("**/migrate/")
    page.select_option("#id_target", str(target.code))
    page.wait_for_selector("#migrate-plan[data-mode='storage']")
    checks = page.inner_text("[data-testid=migrate-checks]")
    assert "Enough free memory on the receiver" in checks and "Room for the volumes" in checks
    assert "zfs send/recv" in page.inner_text("[data-testid=migrate-mode]")
    assert page.is_enabled("#migrate-submit"), checks
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "migrate.png"), full_page=True)

    # A freshly made HVM guest in the simulator has no PV drivers: `xl shutdown` cannot reach it.
    page.check("#downtime-pause")
    page.click("#migrate-submit")
    page.wait_for_url("**/jobs/**")
    try:
        seen = watch_bar(page, BAR, timeout_s=120)
    except AssertionError:
        from jobs.models import Job
        from tests.domains.support import job_log_text

        job = Job.objects.filter(kind="domain.migrate").latest("created_at")
        raise AssertionError(f"{job.status}: {job_log_text(job)[-3000:]}") from None
    assert seen[-1] == 100
    page.wait_for_selector("text=Succeeded", timeout=30_000)
    moved = Domain.objects.get(pk=domain.pk)
    assert moved.host_id == target.pk
