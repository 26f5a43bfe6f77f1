"""Browser tests: Debian's chromium driven by Playwright against the live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("no /usr/bin/chromium: run scripts/system-packages.sh test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    # Playwright's wait_for_function compiles its predicate with eval, which the panel's CSP
    # (script-src 'self') forbids; tests/e2e/test_roles.py browses with the CSP enforced.
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, base_url=live_server.url, bypass_csp=True
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shot(page):
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def login(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def watch_bar(page, selector: str, timeout_s: float = 60) -> list[int]:  # type: ignore[no-untyped-def]
    """Sample a progress bar's aria-valuenow until it reads 100; return the values seen."""
    seen: list[int] = []
    for _ in range(int(timeout_s / 0.1)):
        value = page.evaluate(
            "(s) => { const el = document.querySelector(s);"
            " return el ? parseInt(el.getAttribute('aria-valuenow'), 10) : null; }",
            selector,
        )
        if value is not None and (not seen or seen[-1] != value):
            seen.append(value)
        if value == 100:
            return seen
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector} stopped at {seen}")


def accept_confirms(page) -> None:  # type: ignore[no-untyped-def]
    """Click Confirm whenever the panel's confirmation dialog (includes/confirm_modal.html) opens.

    The panel asks in its own modal, not with window.confirm, so Playwright's "dialog" event never
    fires; a locator handler answers the modal before the next action or assertion instead.
    """
    modal = page.locator("#confirm-modal [data-confirm-ok]")
    page.add_locator_handler(modal, lambda: modal.click())
