"""In a real browser: the new-domU form with its live preview, then the domU page live."""

from __future__ import annotations

import pytest

from dom0.sim import SimHost
from tests.domains.support import poll, put_iso
from tests.e2e.conftest import accept_confirms, login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

IDLE = "#domain-live:not([data-job-active])"
RUNNING = f"{IDLE}[data-state=running], {IDLE}[data-state=blocked]"


def _preview_has(page, text: str) -> None:
    """Wait until the live preview (updated by htmx while typing) contains `text`."""
    page.wait_for_function(
        "t => document.querySelector('[data-testid=cfg-preview]').textContent.includes(t)",
        arg=text,
    )


def test_it_creates_a_domu_from_the_form_and_follows_it_live(
    worker, page, shot, django_user_model, tmp_path
):
    from hosts.simhosts import create_sim_host

    django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    host = create_sim_host("xen-demo1", state_dir=tmp_path / "d1")
    poll(host)
    iso = put_iso(host)
    sim = SimHost(host.sim_dir)
    accept_confirms(page)
    login(page, "admin", "pw-admin-123")

    page.goto(host.get_absolute_url())
    page.click("text=New domU")
    preview = page.locator("[data-testid=cfg-preview]")
    page.fill("#id_name", "freebsd")
    _preview_has(page, 'name = "freebsd"')
    page.fill("#id_memory_mb", "2048")
    _preview_has(page, "memory = 2048")
    page.select_option("#id_iso", str(iso.code))
    _preview_has(page, "devtype=cdrom")
    assert "target=/dev/zvol/zroot/xen/freebsd-disk0" in preview.inner_text()
    page.fill("#id_memory_mb", "999999")
    page.wait_for_selector("#cfg-preview .preview-problems")
    assert "MiB of the hypervisor's memory is free" in page.inner_text("#cfg-preview")
    page.fill("#id_memory_mb", "2048")
    page.wait_for_selector("#cfg-preview .text-success")
    shot("domu-new-form")

    page.click("text=Create and start")
    page.wait_for_url("**/domains/*/")
    # The state turns running on its own: the live part polls while the create job runs.
    page.wait_for_selector(RUNNING, timeout=30000)
    # When the job ends the rest of the page reloads itself: the volume now shows as ready.
    page.wait_for_function("document.querySelector('#domain-body').textContent.includes('ready)')")
    port = sim.vnc_port("freebsd")
    assert page.inner_text("[data-testid=vnc-port]") == str(port)
    # A loopback listener: the card leads with the SSH tunnel (issue 17 item 6).
    assert f"-L {port}:127.0.0.1:{port}" in page.inner_text("[data-testid=vnc-tunnel]")
    page.click("#vnc-card >> text=Reveal")
    page.wait_for_selector("[data-testid=vnc-password]")
    assert len(page.inner_text("[data-testid=vnc-password]")) == 8
    assert "devtype=cdrom" in page.inner_text("[data-testid=current-config]")
    shot("domu-page")

    page.click("#domain-live >> text=Finish install")
    page.wait_for_url("**/domains/*/")
    page.wait_for_selector(RUNNING, timeout=30000)
    assert "cdrom" not in page.inner_text("[data-testid=current-config]")
    page.click("text=history (2 versions)")
    page.wait_for_selector("pre.diff .diff-del")
    shot("domu-history")

    page.click("h1 >> text=freebsd")
    page.click("#domain-live >> button:text-is('Destroy')")
    page.wait_for_selector(f"{IDLE}[data-state=not_running]", timeout=30000)
    assert "freebsd" not in sim.run(["xl", "list"]).stdout
    shot("domu-destroyed")

    page.goto(host.get_absolute_url())
    page.wait_for_selector("#host-domus [data-domain=freebsd]")
    shot("host-domus")
    page.goto("/")
    page.wait_for_selector("#dashboard-body [data-domain=freebsd]")
    shot("dashboard-domus")
