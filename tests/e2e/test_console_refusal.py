"""Consoles in the browser are refused to the wrong people and to forged or spent tickets.

Another operator gets a 404 for the page and for the ticket endpoint, and no ticket is written to
Redis. The owner's page, handed a forged ticket or one already used, ends "Disconnected": the
real console proxy refused it. The proxy's own refusals (reuse, forgery, expiry, pointing a
ticket at another domU) are checked at the WebSocket level in
tests/domains/console/test_proxy.py; this file shows what a person sees in the browser.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import Group

from accounts.access import OPERATOR_GROUP
from dom0.sim import SimHost
from domains.console import tickets
from domains.models import Domain, DomainState
from hosts.simhosts import create_sim_host
from tests.e2e.conftest import ARTIFACTS, login
from tests.e2e.test_console import CFG, _free_display, console_proxy  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FORGED = "Zm9yZ2VkLXRpY2tldC10aGF0LW5vYm9keS1pc3N1ZWQx"  # 43 URL-safe characters, never issued
# Waited for with selectors, not wait_for_function: these pages run under the panel's CSP, which
# forbids the eval Playwright's predicates need (and the console must work under it).
STATE = "#console-app[data-state={}]"


def _operator(django_user_model, name: str):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(name, password=f"pw-{name}-123")
    user.groups.add(Group.objects.get_or_create(name=OPERATOR_GROUP)[0])
    return user


@pytest.fixture
def running_domain(django_user_model, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Olga's domU, running on a simulated host with its built-in VNC server."""
    owner = _operator(django_user_model, "olga")
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1", vnc_servers=True, vnc_qemu=False)
    sim = SimHost(host.sim_dir)
    display = _free_display()
    sim.path("/usr/local/etc/xen/web1.cfg").write_text(
        CFG.format(name="web1", display=display, passwd="pw123456"), "utf-8"
    )
    assert sim.run(["xl", "create", "/usr/local/etc/xen/web1.cfg"]).rc == 0
    domain = Domain.objects.create(
        host=host, name="web1", memory_mb=256, owner=owner, vnc_display=display,
        vnc_password="pw123456", state=DomainState.BLOCKED, domid=1, state_letters="-b----",
    )  # fmt: skip
    yield domain
    sim.reboot()


def _tickets_for(url: str, domain: Domain) -> list[dict[str, object]]:
    """Return the live tickets in Redis that lead to this domU (other tests leave their own)."""
    client = redis.Redis.from_url(url)
    found = []
    for key in client.scan_iter(match=tickets.KEY_PREFIX + "*"):
        raw = client.get(key)
        if raw is not None and json.loads(raw)["domain_code"] == str(domain.code):
            found.append(json.loads(raw))
    return found


def test_it_shows_another_operator_no_console_and_issues_no_ticket(
    browser, live_server, django_user_model, running_domain: Domain, _point_at_redis: str
) -> None:
    _operator(django_user_model, "oscar")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    page = context.new_page()
    try:
        login(page, "oscar", "pw-oscar-123")
        response = page.goto(f"/console/{running_domain.code}/")
        assert response is not None and response.status == 404
        assert page.locator("#console-app").count() == 0
        page.goto("/")
        status = page.evaluate(
            """async (url) => {
                const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
                const r = await fetch(url, {method: "POST", headers: {"X-CSRFToken": token}});
                return r.status;
            }""",
            f"/console/{running_domain.code}/ticket/",
        )
        assert status == 404
        assert _tickets_for(_point_at_redis, running_domain) == []
        assert "web1" not in page.goto("/domains/").text()
    finally:
        context.close()


def test_it_disconnects_a_page_given_a_forged_or_spent_ticket(
    browser,
    live_server,
    running_domain: Domain,
    console_proxy: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    page = context.new_page()
    ticket_url = f"**/console/{running_domain.code}/ticket/"
    ws_url = f"ws://127.0.0.1:{console_proxy}/"
    try:
        login(page, "olga", "pw-olga-123")

        # A forged ticket (well-formed, never issued): the proxy refuses the WebSocket.
        def forged(route) -> None:  # type: ignore[no-untyped-def]
            body = {"ticket": FORGED, "ws_url": ws_url, "password": "pw123456"}
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

        page.route(ticket_url, forged)
        page.goto(f"/console/{running_domain.code}/")
        page.wait_for_selector(STATE.format("disconnected"), timeout=15000)
        assert "refused or lost" in page.inner_text("[data-console-detail]")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-forged-ticket.png"))
        page.unroute(ticket_url)

        # A real ticket connects once; the same ticket handed to the page again is spent.
        spent: dict[str, object] = {}

        def record(route) -> None:  # type: ignore[no-untyped-def]
            response = route.fetch()
            spent.update(response.json())
            route.fulfill(response=response)

        page.route(ticket_url, record)
        page.click("[data-action=reconnect]")
        page.wait_for_selector(STATE.format("connected"), timeout=15000)
        page.unroute(ticket_url)
        assert tickets.well_formed(str(spent["ticket"]))

        def replay(route) -> None:  # type: ignore[no-untyped-def]
            route.fulfill(status=200, content_type="application/json", body=json.dumps(spent))

        page.route(ticket_url, replay)
        page.click("[data-action=reconnect]")
        page.wait_for_selector(STATE.format("disconnected"), timeout=15000)
        assert "refused or lost" in page.inner_text("[data-console-detail]")
        log = (tmp_path / "proxy.log").read_text()
        assert log.count("console ticket refused") == 2, log
    finally:
        context.close()
