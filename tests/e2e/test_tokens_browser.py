"""In a browser, with the Content-Security-Policy enforced: an operator opens "API tokens" from the
user menu, makes a read+write token, sees its text once (a reload does not show it again), uses
it against the API, and revokes it through the panel's confirmation dialog. Then the API page
from the navigation: the vendored Swagger UI draws the live schema without a CSP violation.
Screenshots of both pages at 1440 and 390 px; at 390 px neither is wider than the screen."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from accounts.models import ApiToken, AuditAction, AuditEntry
from tests.e2e.conftest import ARTIFACTS, login
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles"),
]
OSCAR_PW = "Oscar-pw-for-e2e-2"
WIDE, PHONE = 1440, 390


@pytest.fixture
def csp_page(browser, live_server, settings):  # type: ignore[no-untyped-def]
    """A page that does NOT bypass the CSP, and the violations the browser reported."""
    settings.CSP_ENABLED = True
    context = browser.new_context(viewport={"width": WIDE, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.violations = violations  # type: ignore[attr-defined]
    yield page
    context.close()


def both_widths(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.screenshot(path=str(ARTIFACTS / f"{name}-{WIDE}.png"), full_page=True)
    page.set_viewport_size({"width": PHONE, "height": 844})
    page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{PHONE}.png"), full_page=True)
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    assert width <= PHONE, f"{name} is {width} px wide at {PHONE} px"
    page.set_viewport_size({"width": WIDE, "height": 900})


def api_status(base: str, token: str) -> int:
    request = urllib.request.Request(  # noqa: S310  (the live server's http URL)
        f"{base}/api/v1/me/", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (live server)
            assert json.load(response)["username"] == "oscar"
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_an_operator_makes_a_token_sees_it_once_uses_and_revokes_it(
    csp_page, live_server, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    page = csp_page
    oscar = django_user_model.objects.create_user("oscar", password=OSCAR_PW)
    oscar.groups.add(Group.objects.get(name="operator"))
    login(page, "oscar", OSCAR_PW)

    page.click("nav >> text=API tokens")
    page.wait_for_url("**/tokens/")
    page.fill("[data-testid=token-form] input[name=name]", "backup script on build1")
    page.check("#scope-write")
    page.click("[data-testid=token-form] button")
    page.wait_for_url("**/tokens/?token=new")
    text = page.locator("[data-testid=token-value]").inner_text()
    assert text.startswith("xp_")
    assert (
        page.locator("[data-testid=new-token] button[data-copy]").get_attribute("data-copy") == text
    )
    row = page.locator(f"[data-testid=token-{text[3:11]}]")
    assert "read+write" in row.inner_text() and "never" in row.inner_text()
    both_widths(page, "tokens-new")

    page.reload()
    assert page.locator("[data-testid=token-gone]").is_visible()
    assert text not in page.content()

    assert api_status(live_server.url, text) == 200
    page.reload()
    # Created and last used: both "just now" (before the use, last used said "never").
    assert page.locator(f"[data-testid=token-{text[3:11]}]").inner_text().count("just now") == 2

    page.click(f"[data-testid=revoke-{text[3:11]}]")
    page.locator("#confirm-modal [data-confirm-ok]").click()
    page.wait_for_load_state()
    assert "Revoked the API token" in page.locator("#messages").inner_text()
    assert api_status(live_server.url, text) == 401
    assert ApiToken.objects.get(user=oscar).revoked_at is not None
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {AuditAction.TOKEN_CREATE, AuditAction.TOKEN_REVOKE} <= actions
    assert page.violations == []  # type: ignore[attr-defined]


def test_the_api_page_draws_the_schema_under_the_csp(csp_page, django_user_model) -> None:  # type: ignore[no-untyped-def]
    page = csp_page
    oscar = django_user_model.objects.create_user("oscar", password=OSCAR_PW)
    oscar.groups.add(Group.objects.get(name="operator"))
    login(page, "oscar", OSCAR_PW)
    page.click("nav >> text=API")
    page.wait_for_url("**/api/v1/docs/")
    page.wait_for_selector("#swagger-ui .opblock-tag", timeout=30_000)
    assert page.locator("#swagger-ui .opblock-tag", has_text="accounts").count() >= 1
    assert page.locator("#swagger-ui .info .title").inner_text().startswith("xenpanel API")
    # An operation opens and shows its parameters and answers.
    page.locator("#swagger-ui .opblock-summary-path", has_text="/api/v1/me/").first.click()
    page.wait_for_selector("#swagger-ui .opblock.is-open .responses-table")
    both_widths(page, "api-docs")
    assert page.violations == []  # type: ignore[attr-defined]
    assert Path(ARTIFACTS / f"api-docs-{WIDE}.png").exists()
