"""Issue 17 item 2 in a browser: a 403 and a 404 are panel pages — the navigation, a way back,
no traceback text — and fit a phone (390 px) as well as a desktop (1440 px)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from domains.models import Domain
from hosts.models import Host
from tests.e2e.conftest import ARTIFACTS, login
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]


def test_a_refused_and_a_missing_page_keep_the_navigation(page, django_user_model) -> None:  # type: ignore[no-untyped-def]
    olga = django_user_model.objects.create_user("olga", password="pw-olga-123")
    olga.groups.add(Group.objects.get(name="operator"))
    zed = django_user_model.objects.create_user("zed")
    host = Host.objects.create(name="xen1", transport="local")
    theirs = Domain.objects.create(host=host, name="zed-db", owner=zed, memory_mb=512)
    login(page, "olga", "pw-olga-123")
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 800})
        for url, code, name in (
            ("/audit/", 403, "403"),
            (theirs.get_absolute_url(), 404, "404"),
        ):
            response = page.goto(url)
            assert response is not None and response.status == code
            assert page.locator("nav.navbar .navbar-brand").count() == 1
            assert "Traceback" not in page.content()
            assert "zed-db" not in page.inner_text("main, body")  # a 404 names nothing
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(ARTIFACTS / f"error-{name}-{width}.png"), full_page=True)
