"""In a real browser: fetch an ISO from a URL and upload one, and watch both bars reach 100 %."""

from __future__ import annotations

import hashlib

import pytest

from hosts.simhosts import create_sim_host
from storage.models import IsoImage
from tests.e2e.conftest import login, watch_bar
from tests.storage.conftest import http_files, iso_bytes  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BAR = "#iso-status .job-bar"


def test_it_fetches_and_uploads_isos_with_live_progress(
    worker,
    page,
    shot,
    django_user_model,
    tmp_path,
    http_files,  # noqa: F811
    settings,
):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.UPLOAD_CHUNK_BYTES = 1024 * 1024
    django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    host = create_sim_host("xen-demo1", state_dir=tmp_path / "d1")
    image = iso_bytes(4 * 2**20)
    http_files.files["/FreeBSD-14.1-RELEASE-amd64-bootonly.iso"] = image
    http_files.delay = 0.05  # 64 pieces: about 3 s, so the bar is seen moving
    login(page, "admin", "pw-admin-123")

    # Fetch from a URL: the detail page follows the job without a reload.
    page.goto(f"/isos/fetch/?host={host.code}")
    page.fill("#id_url", f"{http_files.url}/FreeBSD-14.1-RELEASE-amd64-bootonly.iso")
    page.fill("#id_checksum", hashlib.sha256(image).hexdigest())
    page.check("#id_allow_private")
    shot("iso-fetch-form")
    page.click("button:has-text('Fetch on the host')")
    page.wait_for_selector(BAR)
    page.evaluate("window.__sameDocument = true")
    page.wait_for_function(
        "(s) => { const el = document.querySelector(s);"
        " const n = el && +el.getAttribute('aria-valuenow'); return n > 5 && n < 90; }",
        arg=BAR,
        timeout=20000,
    )
    shot("iso-fetch-running")
    seen = watch_bar(page, BAR)
    assert len(seen) >= 3 and seen == sorted(seen), seen
    page.wait_for_selector("#iso-status[data-state=ready]", timeout=20000)
    assert page.evaluate("window.__sameDocument === true")  # no reload happened
    assert hashlib.sha256(image).hexdigest() in page.inner_text("#iso-status")
    assert "verified" in page.inner_text("#iso-status")
    shot("iso-fetch-done")

    # Upload from the browser: chunked with a progress bar, then the copy job's bar.
    upload = tmp_path / "local-install.iso"
    upload.write_bytes(iso_bytes(6 * 2**20, seed=3))
    page.goto(f"/isos/upload/?host={host.code}")
    page.set_input_files("#id_file", str(upload))
    assert page.input_value("#id_file_name") == "local-install.iso"
    page.click("#upload-submit")
    seen = watch_bar(page, "#upload-progress .progress")
    assert seen[-1] == 100
    shot("iso-upload-received")
    page.wait_for_url("**/isos/*-*/", timeout=20000)
    watch_bar(page, BAR)
    page.wait_for_selector("#iso-status[data-state=ready]", timeout=20000)
    iso = IsoImage.objects.get(file_name="local-install.iso")
    assert iso.sha256 == hashlib.sha256(upload.read_bytes()).hexdigest()
    shot("iso-upload-done")

    page.goto("/isos/")
    assert page.locator("tr[data-iso]").count() == 2
    shot("iso-library")
    page.goto(host.get_absolute_url())
    page.locator("#storage").scroll_into_view_if_needed()
    shot("host-storage")
