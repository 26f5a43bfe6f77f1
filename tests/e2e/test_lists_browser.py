"""The server-side lists in a browser (issue 16): hosts, Storage, ISOs, jobs and audit, each with
200 rows — a column header sorts, the pager moves on, a search narrows, and all of it stays in
the URL; no list is wider than a phone. Screenshots: test-artifacts/lists-<list>-<width>.png."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.conftest import ARTIFACTS, login
from tests.support.roles import roles  # noqa: F401  (fixture)
from tests.test_query_counts import MANY, Seeded, grow, seeded  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]

#: Each list: its URL, a column to sort by, and a search that finds one row of the seed.
LISTS = {
    "hosts": ("/hosts/", "domus", "q=xen007"),
    "storage": ("/storage/", "vsort", "q=d007-disk0"),
    "isos": ("/isos/", "size", "q=img007"),
    "jobs": ("/jobs/", "job", "target=d007"),
    "audit": ("/audit/", "who", "actor=user007"),
}


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_list_pages_sorts_and_searches_in_the_url(page, live_server, request, name):  # type: ignore[no-untyped-def]
    world: Seeded = request.getfixturevalue("seeded")
    world.admin.set_password("Lists-pw-1")
    world.admin.save()
    grow(world, MANY)
    url, sort, search = LISTS[name]
    login(page, "ada", "Lists-pw-1")
    page.goto(url)
    pager = page.locator(".pager").first
    assert "page 1 of" in pager.inner_text()
    # The next page is a link with the page in the URL.
    pager.locator("a[rel=next]").click()
    page.wait_for_load_state()
    assert any(k.endswith("page") and v == ["2"] for k, v in query(page.url).items()), page.url
    # A column header sorts (the Storage page's volumes: any header of that table).
    header = (
        page.locator("#volumes th a.sort-link").nth(2)
        if name == "storage"
        else page.locator(f"th a.sort-link[href*='sort={sort}']").first
    )
    header.click()
    page.wait_for_load_state()
    assert any(k.endswith("sort") for k in query(page.url)), page.url
    assert page.locator("th[aria-sort=ascending], th[aria-sort=descending]").count() >= 1
    # A search narrows the list to the one row it names.
    page.goto(f"{url}?{search}")
    assert "page 1 of" not in page.locator(".pager").first.inner_text()
    rows = page.locator("#volumes tbody" if name == "storage" else "tbody").first
    assert "007" in rows.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{url} is {overflow}px wider than a {width}px screen"
        page.screenshot(path=str(ARTIFACTS / f"lists-{name}-{width}.png"), full_page=width > 400)
