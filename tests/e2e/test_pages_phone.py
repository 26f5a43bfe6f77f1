"""Every main page at phone width (390 px) and at 1440 px, as an admin: the navbar collapses
behind its toggler (Sign out, Audit and Users inside), no page is wider than the viewport, and
the jobs list shows Host and Duration. Screenshots: test-artifacts/pages-<page>-<width>.png.
(Issue 17, items 3 and 8.)"""

from __future__ import annotations

import pytest
from django.test import Client

from domains.models import Domain
from jobs.models import Job
from storage.models import Volume
from tests.domains.support import act, create_via_form, put_iso, refreshed_host
from tests.e2e.conftest import ARTIFACTS, login
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]
ADMIN_PW = "Root-pw-for-pages-1"


def main_pages(domain: Domain, volume: Volume, iso_url: str, job: Job) -> dict[str, str]:
    return {
        "dashboard": "/",
        "hosts": "/hosts/",
        "host": domain.host.get_absolute_url(),
        "domus": "/domains/",
        "domu": domain.get_absolute_url(),
        "domu-new": "/domains/new/",
        "domu-history": f"{domain.get_absolute_url()}history/",
        "storage": "/storage/",
        "volume": volume.get_absolute_url(),
        "isos": "/isos/",
        "iso": iso_url,
        "jobs": "/jobs/",
        "job": job.get_absolute_url(),
        "audit": "/audit/",
        "console": f"/console/{domain.code}/",
    }


def test_every_main_page_fits_a_phone(
    worker, browser, live_server, tmp_path, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    root = django_user_model.objects.create_superuser("root", "root@example.com", ADMIN_PW)
    host = refreshed_host("xen1", tmp_path)
    iso = put_iso(host)
    client = Client()
    client.force_login(root)
    domain, created = create_via_form(client, host, "web1-with-a-rather-long-name")
    assert created.status == "succeeded", created.error
    act(client, domain, "start")
    domain.refresh_from_db()
    pages = main_pages(domain, domain.volume, iso.get_absolute_url(), created)
    ARTIFACTS.mkdir(exist_ok=True)

    too_wide = {}
    for width, height in ((1440, 900), (390, 844)):
        context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=live_server.url, bypass_csp=True
        )
        page = context.new_page()
        login(page, "root", ADMIN_PW)
        for name, url in pages.items():
            response = page.goto(url)
            assert response is not None and response.status == 200, (name, url)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(ARTIFACTS / f"pages-{name}-{width}.png"), full_page=True)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                too_wide[f"{name}@{width}"] = scroll
        if width == 390:
            # Collapsed: the links are hidden until the toggler opens them.
            page.goto("/jobs/")
            assert not page.is_visible("nav >> text=Sign out")
            page.click(".navbar-toggler")
            for label in ("Audit", "Users", "Jobs"):
                assert page.is_visible(f"#panel-nav >> text={label}"), label
            assert page.is_visible("#panel-nav >> text=Sign out")
            page.screenshot(path=str(ARTIFACTS / "pages-nav-open-390.png"), full_page=True)
        else:
            assert page.is_visible("nav >> text=Sign out")
            assert not page.is_visible(".navbar-toggler")
            # The jobs list: Host and Duration columns, the absolute time on hover.
            page.goto("/jobs/")
            heads = page.locator("#job-rows thead th").all_inner_texts()
            assert "HOST" in [h.upper() for h in heads] and "DURATION" in [h.upper() for h in heads]
            row = page.locator(f"#job-rows tr:has(a[href='{created.get_absolute_url()}'])")
            assert row.locator(".job-host").inner_text() == "xen1"
            assert row.locator(".job-duration").inner_text().endswith("s")
            title = row.locator("time").get_attribute("title")
            assert title and title[:4].isdigit() and title[4] == "-", title
            # Detail pages: breadcrumbs back to their list.
            page.goto(created.get_absolute_url())
            assert page.locator(".breadcrumb a").first.inner_text() == "Jobs"
            page.goto(domain.get_absolute_url())
            assert page.locator(".breadcrumb a").first.inner_text() == "DomUs"
        context.close()
    assert not too_wide, f"pages wider than the viewport: {too_wide}"
