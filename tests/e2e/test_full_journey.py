"""The whole journey in Chromium, as an admin does it on a new Dom0 (issue 7's browser test).

Sign in → refresh the host and read its readiness checklist → fetch an installer ISO from a URL
and watch the bar reach 100 % → create a domU from the form while its config preview follows the
typing → it turns running without a reload → VNC details → the console shows the VNC server's
screen → finish the install → destroy. Everything is real except Xen: the live server, Redis, a
Celery worker, the simulator with VNC servers (the built-in RFB server, qemu=False, so the test
is the same with or without QEMU), the console proxy process and a local HTTP server for the ISO.
"""

from __future__ import annotations

import hashlib
import socket

import pytest

from dom0.sim import SimHost
from hosts.simhosts import create_sim_host
from storage.models import IsoImage
from tests.e2e.conftest import accept_confirms, login, watch_bar
from tests.e2e.test_console import console_proxy  # noqa: F401 (fixture: the real proxy process)
from tests.storage.conftest import http_files, iso_bytes  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ISO_NAME = "FreeBSD-14.2-RELEASE-amd64-disc1.iso"
ISO_BAR = "#iso-status .job-bar"
IDLE = "#domain-live:not([data-job-active])"
RUNNING = f"{IDLE}[data-state=running], {IDLE}[data-state=blocked]"
# The form's default display is 1 (port 5901). A loopback address of its own keeps the test
# clear of any VNC server on 127.0.0.1:5901 (a running demo, a desktop session).
VNC_LISTEN = "127.0.91.1"
# Luminance statistics of the console canvas, sampled every 4th pixel.
CANVAS_STATS = """() => {
  const canvas = document.querySelector("[data-console-screen] canvas");
  if (!canvas || !canvas.width) return {n: 0, colours: 0, stddev: 0, width: 0};
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = new Set();
  let n = 0, sum = 0, sq = 0;
  for (let i = 0; i < data.length; i += 16) {
    const y = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    n += 1; sum += y; sq += y * y;
  }
  const mean = sum / n;
  return {n, colours: colours.size, stddev: Math.sqrt(sq / n - mean * mean), width: canvas.width};
}"""


def _preview_has(page, text: str) -> None:
    page.wait_for_function(
        "t => document.querySelector('[data-testid=cfg-preview]').textContent.includes(t)",
        arg=text,
    )


def _mark_document(page) -> None:
    page.evaluate("window.__sameDocument = true")


def _same_document(page) -> bool:
    return bool(page.evaluate("window.__sameDocument === true"))


def _port_open(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_it_walks_from_sign_in_to_a_console_and_back(
    worker,
    page,
    shot,
    django_user_model,
    tmp_path,
    http_files,  # noqa: F811
    console_proxy: int,  # noqa: F811
) -> None:
    django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    host = create_sim_host("xen-demo1", state_dir=tmp_path / "d1", vnc_servers=True, vnc_qemu=False)
    sim = SimHost(host.sim_dir)
    image = iso_bytes(3 * 2**20)
    http_files.files[f"/{ISO_NAME}"] = image
    http_files.delay = 0.04  # 48 pieces of 64 KiB: about 2 s, so the bar is seen moving
    accept_confirms(page)
    try:
        # 1. Sign in; refresh the host; its readiness checklist fills in without a reload.
        login(page, "admin", "pw-admin-123")
        page.goto(host.get_absolute_url())
        _mark_document(page)
        page.click("text=Refresh facts")
        page.wait_for_selector("table.readiness tr[data-status=pass]", timeout=30000)
        page.wait_for_function("!document.querySelector('#host-body[hx-trigger]')", timeout=30000)
        assert page.locator("table.readiness tr[data-status=pass]").count() == 10
        assert page.locator("table.readiness tr[data-status=fail]").count() == 0
        shot("journey-1-host-ready")

        # 2. Fetch the installer ISO; the bar climbs to 100 % and the checksum is verified.
        page.goto(f"/isos/fetch/?host={host.code}")
        page.fill("#id_url", f"{http_files.url}/{ISO_NAME}")
        page.fill("#id_checksum", hashlib.sha256(image).hexdigest())
        page.check("#id_allow_private")
        page.click("button:has-text('Fetch on the host')")
        page.wait_for_selector(ISO_BAR)
        _mark_document(page)
        seen = watch_bar(page, ISO_BAR)
        assert seen[-1] == 100 and len(seen) >= 3 and seen == sorted(seen), seen
        page.wait_for_selector("#iso-status[data-state=ready]", timeout=20000)
        assert "verified" in page.inner_text("#iso-status")
        assert _same_document(page)
        iso = IsoImage.objects.get(host=host, file_name=ISO_NAME)
        shot("journey-2-iso-fetched")

        # 3. The new-domU form: the config preview follows the typing.
        page.goto(host.get_absolute_url())
        page.click("text=New domU")
        preview = page.locator("[data-testid=cfg-preview]")
        page.fill("#id_name", "fbsd1")
        _preview_has(page, 'name = "fbsd1"')
        page.fill("#id_memory_mb", "1536")
        _preview_has(page, "memory = 1536")
        page.select_option("#id_iso", str(iso.code))
        _preview_has(page, f"target={host.iso_dir}/{ISO_NAME}")
        page.fill("#id_vnc_listen", VNC_LISTEN)
        _preview_has(page, f'vnclisten = "{VNC_LISTEN}"')
        assert "target=/dev/zvol/zroot/xen/fbsd1-disk0" in preview.inner_text()
        page.wait_for_selector("#cfg-preview .text-success")
        shot("journey-3-new-domu")

        # 4. Create and start: the state turns running on its own; VNC details appear.
        page.click("text=Create and start")
        page.wait_for_url("**/domains/*/")
        _mark_document(page)
        page.wait_for_selector(RUNNING, timeout=30000)
        page.wait_for_function(
            "document.querySelector('#domain-body').textContent.includes('ready)')"
        )
        assert _same_document(page)
        port = sim.vnc_port("fbsd1")
        assert port is not None and _port_open(VNC_LISTEN, port)
        assert page.inner_text("[data-testid=vnc-port]") == str(port)
        # A loopback listener: the card leads with the SSH tunnel and offers no direct address.
        card = page.inner_text("#vnc-card")
        assert f"-L {port}:{VNC_LISTEN}:{port}" in card and "vnc://" not in card
        domain_url = page.url
        shot("journey-4-domu-running")

        # 5. The console: a ticket, the proxy, the RFB server's screen on the canvas.
        page.click("#vnc-card >> text=Console in the browser")
        page.wait_for_url("**/console/*/")
        page.wait_for_function(
            "document.getElementById('console-app').dataset.state === 'connected'", timeout=15000
        )
        page.wait_for_function(f"({CANVAS_STATS})().colours > 2", timeout=10000)
        stats = page.evaluate(CANVAS_STATS)
        # A screen with text on it, not a blank or single-colour canvas.
        assert stats["width"] > 0 and stats["colours"] > 2 and stats["stddev"] > 8, stats
        assert page.inner_text("[data-console-status]") == "Connected"
        shot("journey-5-console")

        # 6. Finish the install: the cdrom leaves the config, the domU runs from its disk.
        page.goto(domain_url)
        page.click("#domain-live >> text=Finish install")
        page.wait_for_url("**/domains/*/")
        page.wait_for_selector(RUNNING, timeout=30000)
        page.wait_for_function(
            "!document.querySelector('[data-testid=current-config]').textContent.includes('cdrom')"
        )
        assert "devtype=cdrom" not in sim.path(f"{host.config_dir}/fbsd1.cfg").read_text()
        shot("journey-6-installed")

        # 7. Destroy: the domU is gone from the host, and so is its VNC server.
        port = sim.vnc_port("fbsd1")
        assert port is not None
        page.click("#domain-live >> button:text-is('Destroy')")
        page.wait_for_selector(f"{IDLE}[data-state=not_running]", timeout=30000)
        assert "fbsd1" not in sim.run(["xl", "list"]).stdout
        assert not _port_open(VNC_LISTEN, port)
        shot("journey-7-destroyed")
    finally:
        sim.reboot()  # no VNC server outlives the test, whatever happened
