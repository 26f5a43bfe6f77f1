"""Issue 17 items 5, 6 and 8 (parts) in a real browser, at 1440 and 390 px.

One word for a running domU (xl's `-b----` is running, the raw flags a detail), the VNC card led
by the SSH tunnel, a host that fails readiness not shown as plainly "reachable", and delete
confirmations that start visibly empty.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from domains.models import Domain
from tests.domains.support import create_via_form, poll
from tests.e2e.conftest import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WIDTHS = (1440, 390)


def _at_widths(page, shot, name: str, part: str = "") -> None:
    """Screenshot the current page (and `part` of it) at both widths; at 390 px nothing is
    wider than the screen."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)
        path = shot(f"issue17-{name}-{width}")
        if part:
            page.locator(part).screenshot(path=str(path.with_name(f"{path.stem}-part.png")))
        if width == 390:
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, f"{name} is {wide} px wide at 390 px"
    page.set_viewport_size({"width": 1440, "height": 900})


def test_state_word_vnc_card_readiness_badge_and_confirm_boxes(
    worker, page, shot, client, django_user_model, tmp_path
):
    from hosts.simhosts import create_sim_host

    admin = django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    ready = create_sim_host("xen-ready", state_dir=tmp_path / "r")
    unready = create_sim_host("xen-unready", profile="unready", state_dir=tmp_path / "u")
    poll(ready, full=True)
    poll(unready, full=True)
    client.force_login(admin)
    domain, job = create_via_form(client, ready, "web1", memory_mb=2048)
    assert job.status == "succeeded", job.error
    # What `xl list` shows of an idle guest a few seconds after it booted: blocked, -b----.
    Domain.objects.filter(pk=domain.pk).update(state="blocked", state_letters="-b----")
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "admin", "pw-admin-123")

    # Dashboard: the unready host is amber with its score; the ready one plain green.
    page.goto("/")
    bad = page.locator("#dashboard-body tr[data-host=xen-unready] .badge")
    assert bad.inner_text() == "reachable · not ready 8/10"
    assert "text-bg-warning" in bad.get_attribute("class")
    good = page.locator("#dashboard-body tr[data-host=xen-ready] .badge")
    assert good.inner_text() == "reachable" and "text-bg-success" in good.get_attribute("class")
    row = page.locator("#dashboard-body tr[data-domain=web1]")
    assert row.locator(".domain-state").inner_text() == "running"
    assert "2 GiB" in row.inner_text()
    assert "idle" not in page.inner_text("#dashboard-body")
    _at_widths(page, shot, "dashboard", "#dashboard-body")

    # The list, the domU page and the console page say the same word; the flags are a detail.
    page.goto(reverse("domains:list"))
    listed = page.locator("tr[data-domain=web1] .domain-state")
    assert listed.inner_text() == "running" and "-b----" in listed.get_attribute("title")
    assert "idle" not in page.inner_text("body")
    page.goto(domain.get_absolute_url())
    assert page.inner_text("#domain-live .domain-state") == "running"
    assert page.inner_text("#domain-live .domain-flags") == "-b----"

    # The VNC card leads with the tunnel; a loopback listener gets no direct address.
    card = page.inner_text("#vnc-card")
    port = 5900 + Domain.objects.get(pk=domain.pk).vnc_display
    tunnel = page.inner_text("[data-testid=vnc-tunnel] code")
    assert tunnel == f"ssh -N -L {port}:127.0.0.1:{port} {ready.ssh_user}@{ready.address}"
    assert page.inner_text("[data-testid=vnc-tunnel-viewer] code") == f"vncviewer localhost::{port}"
    assert "loopback only" in card and "vnc://" not in card
    assert page.locator("[data-testid=vnc-direct]").count() == 0
    assert page.locator("#vnc-card [data-copy]").count() == 2

    # Delete confirmation: an empty box, named by the text beside it, no look-alike placeholder.
    box = page.locator("#delete input[name=confirm]")
    assert box.get_attribute("placeholder") is None and box.input_value() == ""
    assert "Type web1 to confirm." in page.inner_text("#delete")
    page.locator("#vnc-card").scroll_into_view_if_needed()
    _at_widths(page, shot, "domu-page", "#vnc-card")

    page.goto(reverse("console:page", args=[domain.code]))
    assert page.inner_text(".domain-state") == "running"

    # A domU that listens beyond loopback also offers the direct address, after the tunnel.
    Domain.objects.filter(pk=domain.pk).update(vnc_listen="0.0.0.0")  # noqa: S104
    page.goto(domain.get_absolute_url())
    card = page.inner_text("#vnc-card")
    assert card.index("ssh -N -L") < card.index(f"vnc://{ready.address}:{port}")
    assert page.locator("[data-testid=vnc-direct]").count() == 1
    _at_widths(page, shot, "domu-vnc-direct", "#vnc-card")
