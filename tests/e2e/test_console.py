"""The console in Chromium: ticket, proxy, VNC password, pixels, Ctrl-Alt-Del and pasted keys.

A simulated host runs its built-in RFB server (qemu=False, so the result is the same with or
without QEMU); the real console proxy runs as a process on a free port against the test Redis.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from domains.models import Domain, DomainState
from hosts.simhosts import create_sim_host
from tests.domains.console.clients import keys_seen
from tests.e2e.conftest import login
from tests.support.console import console_proxy_process

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CFG = """name = "{name}"
type = "hvm"
memory = 256
vcpus = 1
vnc = 1
vnclisten = "127.0.0.1"
vncdisplay = {display}
vncunused = 0
vncpasswd = "{passwd}"
"""
PIXEL_STATS = """() => {
  const canvas = document.querySelector("[data-console-screen] canvas");
  if (!canvas || !canvas.width) return {colours: 0, width: 0};
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  for (let i = 0; i < data.length; i += 16) {
    seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  }
  return {colours: seen.size, width: canvas.width, height: canvas.height};
}"""


def _free_display() -> int:
    for display in range(60, 400):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", 5900 + display))
                return display
            except OSError:
                continue
    raise RuntimeError("no free VNC display")


@pytest.fixture
def console_proxy(_point_at_redis: str, settings, tmp_path: Path) -> Iterator[int]:  # type: ignore[no-untyped-def]
    with console_proxy_process(_point_at_redis, tmp_path / "proxy.log") as port:
        settings.CONSOLE_WS_URL = f"ws://127.0.0.1:{port}/"
        yield port


def test_it_connects_shows_pixels_and_types(
    page,
    shot,
    admin_user,
    console_proxy: int,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1", vnc_servers=True)
    from dom0.sim import SimHost

    sim = SimHost(host.sim_dir)
    sim.set_vnc_servers(True, qemu=False)
    display = _free_display()
    sim.path("/usr/local/etc/xen/web1.cfg").write_text(
        CFG.format(name="web1", display=display, passwd="pw123456"), "utf-8"
    )
    try:
        assert sim.run(["xl", "create", "/usr/local/etc/xen/web1.cfg"]).rc == 0
        domain = Domain.objects.create(
            host=host, name="web1", memory_mb=256, owner=admin_user, vnc_display=display,
            vnc_password="pw123456", state=DomainState.BLOCKED, domid=1, state_letters="-b----",
        )  # fmt: skip
        login(page, "root", "pw-root-123")
        page.goto(f"/console/{domain.code}/")
        status = page.locator("[data-console-status]")
        page.wait_for_function(
            "document.getElementById('console-app').dataset.state === 'connected'", timeout=15000
        )
        assert status.inner_text() == "Connected"
        page.wait_for_function(f"({PIXEL_STATS})().colours > 2", timeout=10000)
        stats = page.evaluate(PIXEL_STATS)
        assert stats["width"] == 720 and stats["colours"] > 2

        page.click("[data-action=ctrl-alt-del]")
        assert keys_seen(sim.state_dir, "web1", lambda k: k["ctrl_alt_del"] == 1)
        text = "Hello, World! ~/x_1 {ok}\nls -la\n"
        page.fill("[data-paste-text]", text)
        page.click("[data-action=paste]")
        assert keys_seen(sim.state_dir, "web1", lambda k: k["typed"] == text), (
            sim.state_dir / "vnc" / "web1.keys.json"
        ).read_text()
        page.wait_for_timeout(1200)  # let the echo reach the canvas for the screenshot
        shot("console")

        # Reconnect asks for a new ticket; the old one is spent.
        page.click("[data-action=reconnect]")
        page.wait_for_function(
            "document.getElementById('console-app').dataset.state === 'connected'", timeout=15000
        )
    finally:
        sim.reboot()
