"""Confirmations use the panel's dialog (Cancel does nothing, Confirm proceeds); the config
history diff wraps long lines; dark mode follows prefers-color-scheme and the navbar toggle.
Screenshots: test-artifacts/pages-confirm-*.png, pages-dark-*.png. (Issue 17, items 8 and 10.)"""

from __future__ import annotations

import pytest

from domains import records
from domains.models import Domain, DomainConfigVersion
from hosts.simhosts import create_sim_host
from tests.e2e.conftest import ARTIFACTS, login
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]
ADMIN_PW = "Root-pw-for-pages-2"
CONFIG = 'name = "web1"\ntype = "hvm"\nmemory = 1024\nvcpus = 1\n'
LONG = 'extra = "console=ttyS0 ' + " ".join(f"opt{i}=value{i}" for i in range(40)) + '"\n'


def history_world(tmp_path, django_user_model) -> Domain:  # type: ignore[no-untyped-def]
    root = django_user_model.objects.create_superuser("root", "root@example.com", ADMIN_PW)
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    domain = Domain.objects.create(host=host, name="web1", owner=root, memory_mb=1024, vcpus=1)
    records.add_version(domain, CONFIG, author=root, note="Created")
    records.add_version(domain, CONFIG.replace("1024", "2048") + LONG, author=root, note="Edited")
    return domain


def versions(domain: Domain) -> int:
    return DomainConfigVersion.objects.filter(domain=domain).count()


def test_a_confirmation_is_the_panel_dialog(page, tmp_path, django_user_model) -> None:  # type: ignore[no-untyped-def]
    domain = history_world(tmp_path, django_user_model)
    native: list[str] = []
    page.on("dialog", lambda d: (native.append(d.message), d.dismiss()))
    login(page, "root", ADMIN_PW)
    page.goto(f"{domain.get_absolute_url()}history/?a=1&b=2")
    # The long `extra` line wraps inside the card instead of running past its right edge.
    diff = page.locator("pre.diff")
    assert page.evaluate("(el) => el.scrollWidth <= el.clientWidth", diff.element_handle())
    restore = page.locator("tr[data-version='1'] button", has_text="restore")

    restore.click()
    modal = page.locator("#confirm-modal")
    modal.wait_for(state="visible")
    assert "Restore version 1" in modal.inner_text()
    page.screenshot(path=str(ARTIFACTS / "pages-confirm-1440.png"), full_page=True)
    page.click("#confirm-modal [data-confirm-cancel]")
    modal.wait_for(state="hidden")
    page.wait_for_timeout(300)
    assert versions(domain) == 2 and page.url.endswith("?a=1&b=2")

    restore.click()
    modal.wait_for(state="visible")
    page.click("#confirm-modal [data-confirm-ok]")
    page.wait_for_load_state("networkidle")
    assert versions(domain) == 3
    assert native == [], "the browser's own confirm() was used"


@pytest.mark.parametrize("width", [1440, 390])
def test_dark_mode_follows_the_system_and_the_toggle(
    browser, live_server, tmp_path, django_user_model, width: int
) -> None:  # type: ignore[no-untyped-def]
    domain = history_world(tmp_path, django_user_model)
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        base_url=live_server.url,
        bypass_csp=True,
        color_scheme="dark",
    )
    page = context.new_page()
    theme = "document.documentElement.getAttribute('data-bs-theme')"
    login(page, "root", ADMIN_PW)
    assert page.evaluate(theme) == "dark"
    for name, url in (("dashboard", "/"), ("history", f"{domain.get_absolute_url()}history/")):
        page.goto(url)
        assert page.evaluate(theme) == "dark"
        body = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert body != "rgb(245, 246, 248)", "the page background stayed light"
        page.screenshot(path=str(ARTIFACTS / f"pages-dark-{name}-{width}.png"), full_page=True)
    if width == 390:
        page.click(".navbar-toggler")
    # The toggle overrides the system, and is remembered on the next page.
    page.select_option("[data-theme-select]", "light")
    assert page.evaluate(theme) == "light"
    page.goto("/")
    assert page.evaluate(theme) == "light"
    assert page.locator("[data-theme-select]").input_value() == "light"
    context.close()
