"""The console's Full screen button and Send keys menu in Chromium (issue 18, item 9).

A simulated host runs its built-in RFB server, which records every key event it receives in
`<state>/vnc/<name>.keys.json`; the real console proxy runs as a process against the test Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domains.models import Domain, DomainState
from hosts.simhosts import create_sim_host
from tests.domains.console.clients import keys_seen
from tests.e2e.conftest import login
from tests.e2e.test_console import CFG, _free_display
from tests.support.console import console_proxy_process

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CONNECTED = "document.getElementById('console-app').dataset.state === 'connected'"
F2_EVENTS = [[0xFFE3, 1], [0xFFE9, 1], [0xFFBF, 1], [0xFFBF, 0], [0xFFE9, 0], [0xFFE3, 0]]


@pytest.fixture
def console_proxy(_point_at_redis: str, settings, tmp_path: Path) -> Iterator[int]:  # type: ignore[no-untyped-def]
    with console_proxy_process(_point_at_redis, tmp_path / "proxy.log") as port:
        settings.CONSOLE_WS_URL = f"ws://127.0.0.1:{port}/"
        yield port


def test_full_screen_and_the_send_keys_menu(
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
    sim.path("/usr/local/etc/xen/inst1.cfg").write_text(
        CFG.format(name="inst1", display=display, passwd="pw123456"), "utf-8"
    )
    try:
        assert sim.run(["xl", "create", "/usr/local/etc/xen/inst1.cfg"]).rc == 0
        domain = Domain.objects.create(
            host=host, name="inst1", memory_mb=256, owner=admin_user, vnc_display=display,
            vnc_password="pw123456", state=DomainState.BLOCKED, domid=1, state_letters="-b----",
        )  # fmt: skip
        login(page, "root", "pw-root-123")
        page.goto(f"/console/{domain.code}/")
        page.wait_for_function(CONNECTED, timeout=15000)

        # Send keys: Ctrl-Alt-F2 reaches the VNC server as six events, in order.
        page.click("[data-action=keys-menu]")
        assert page.locator("[data-keys-menu] .dropdown-menu").is_visible()
        shot("console-keys-menu-1440")
        page.click("[data-keys=ctrl-alt-f2]")
        assert not page.locator("[data-keys-menu] .dropdown-menu").is_visible()
        assert keys_seen(sim.state_dir, "inst1", lambda k: "Ctrl+Alt+F2" in k["combos"])
        record = (sim.state_dir / "vnc" / "inst1.keys.json").read_text()
        assert str(F2_EVENTS)[1:-1].replace(" ", "") in record.replace(" ", ""), record

        # Every other entry of the menu sends what it names.
        for key, combo in (
            ("ctrl-alt-backspace", "Ctrl+Alt+BackSpace"),
            ("ctrl-alt-f6", "Ctrl+Alt+F6"),
            ("ctrl-alt-del", "Ctrl+Alt+Delete"),
        ):
            page.click("[data-action=keys-menu]")
            page.click(f"[data-keys={key}]")
            assert keys_seen(sim.state_dir, "inst1", lambda k, c=combo: c in k["combos"]), key
        for key, keysym in (("print", 0xFF61), ("tab", 0xFF09), ("escape", 0xFF1B)):
            page.click("[data-action=keys-menu]")
            page.click(f"[data-keys={key}]")
            assert keys_seen(sim.state_dir, "inst1", lambda k, s=keysym: [s, 0] in k["events"])

        # Full screen: the stage (toolbar and screen) fills the screen; the button leaves again.
        page.click("[data-action=fullscreen]")
        page.wait_for_function(
            "document.fullscreenElement === document.getElementById('console-stage')",
            timeout=5000,
        )
        # The button follows the fullscreenchange event, which comes just after the change.
        page.wait_for_function(
            "document.querySelector('[data-action=fullscreen]').textContent === "
            "'Leave full screen'",
            timeout=5000,
        )
        size = page.evaluate(
            "(() => { const r = document.querySelector('[data-console-screen]')"
            ".getBoundingClientRect(); return [r.width, r.height, innerWidth, innerHeight]; })()"
        )
        assert size[0] > 0.9 * size[2] and size[1] > 0.75 * size[3], size
        page.wait_for_timeout(600)  # let noVNC rescale to the new size for the screenshot
        shot("console-fullscreen-1440")
        page.click("[data-action=fullscreen]")
        page.wait_for_function(
            "document.fullscreenElement === null && "
            "document.querySelector('[data-action=fullscreen]').textContent === 'Full screen'",
            timeout=5000,
        )

        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        shot("console-toolbar-390")
    finally:
        sim.reboot()


def test_an_exposed_vnc_is_warned_about_on_the_domu_and_console_pages(
    page,
    shot,
    admin_user,
    console_proxy: int,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    host = create_sim_host("xen2", state_dir=tmp_path / "xen2")
    wildcard = "0.0.0.0"  # noqa: S104 (a vnclisten value, not a socket we bind)
    host.vnc_exposure_allowed = True
    host.save(update_fields=["vnc_exposure_allowed"])
    domain = Domain.objects.create(
        host=host, name="open1", memory_mb=256, owner=admin_user, vnc_display=7,
        vnc_listen=wildcard, vnc_password="pw123456", state=DomainState.BLOCKED, domid=3,
    )  # fmt: skip
    sentence = (
        "VNC listens on 0.0.0.0 of xen2: anyone who reaches it can try the 8-character VNC "
        "password."
    )
    login(page, "root", "pw-root-123")
    page.goto(domain.get_absolute_url())
    assert page.inner_text("#vnc-card [data-testid=vnc-exposure]") == sentence
    shot("vnc-exposure-domu-1440")
    page.goto(f"/console/{domain.code}/")
    assert page.inner_text("[data-testid=vnc-exposure]") == sentence
    shot("vnc-exposure-console-1440")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(domain.get_absolute_url())
    shot("vnc-exposure-domu-390")
