"""Cancelling an upload: refused once the file is complete, answered 410 during the last PUT.

Once the last chunk has completed the file, the copy job needs it: Cancel (DELETE) gets 409 and
the file stays, even when the browser lost the answer to that last PUT. A Cancel that lands while
a PUT is still writing ends that PUT with 410 and drops its hasher.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jobs.choices import JobStatus
from jobs.models import Job
from storage import uploads
from storage.jobs import isos as iso_jobs
from storage.models import IsoImage, UploadSession
from tests.e2e.conftest import CHROMIUM, accept_confirms, login
from tests.storage.conftest import iso_bytes
from tests.storage.uploading import mark_complete, new_session
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db

ISO = iso_bytes(200_000, seed=5)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_it_answers_409_to_delete_after_the_upload_completed(admin_client, sim_host, admin_user):
    session = new_session(sim_host, admin_user, len(ISO))
    response = admin_client.put(
        session.get_absolute_url(),
        data=ISO,
        content_type="application/octet-stream",
        HTTP_UPLOAD_OFFSET="0",
    )
    assert response.json()["state"] == "complete"
    response = admin_client.delete(session.get_absolute_url())
    assert response.status_code == 409
    assert "copying" in response.json()["error"]
    session.refresh_from_db()
    assert session.state == UploadSession.State.COMPLETE
    assert session.local_path.read_bytes() == ISO  # the copy job still finds it
    assert IsoImage.objects.get(pk=session.iso_id).state == IsoImage.State.TRANSFERRING


def test_it_claims_an_abort_only_while_receiving(sim_host, admin_user):
    session = new_session(sim_host, admin_user, len(ISO))
    session.local_path.write_bytes(ISO)
    mark_complete(session)
    with pytest.raises(uploads.UploadRefused) as refused:
        uploads.abort_session(session)
    assert refused.value.status == 409
    assert session.local_path.exists()
    assert IsoImage.objects.filter(pk=session.iso_id).exists()
    receiving = new_session(sim_host, admin_user, len(ISO), "b.iso")
    uploads.abort_session(receiving)
    assert not receiving.local_path.exists()
    assert UploadSession.objects.get(pk=receiving.pk).state == UploadSession.State.ABORTED
    assert not IsoImage.objects.filter(file_name="b.iso").exists()


def _in_a_browser(base_url: str, drive: Callable[[Any], None]) -> None:
    """Run `drive(page)` in headless chromium, on a thread of its own.

    Its own thread, so it works beside the session-wide Playwright of tests/e2e (the sync API
    refuses to start inside another instance's event loop).
    """
    from playwright.sync_api import sync_playwright

    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    context = browser.new_context(base_url=base_url, bypass_csp=True)
                    drive(context.new_page())
                finally:
                    browser.close()
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the browser did not finish"
    if failure:
        raise failure[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_keeps_an_upload_the_browser_cancels_as_it_completes(
    worker, live_server, django_user_model, settings, sim_host
):
    """The last PATCH (tus) completes the file but its answer is lost; Cancel comes during the
    retry."""
    settings.UPLOAD_CHUNK_BYTES = 64 * 1024
    django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    image = Path(settings.UPLOAD_DIR).parent / "late.iso"
    image.write_bytes(ISO)
    methods: list[str] = []
    shown: list[str] = []

    def lose_the_last_answer(route: Any) -> None:
        request = route.request
        methods.append(request.method)
        offset = int(request.headers.get("upload-offset", "-1"))
        if request.method == "PATCH" and offset + len(request.post_data_buffer or b"") == len(ISO):
            route.fetch()  # the server receives the whole chunk and completes the upload
            route.abort()  # ... but the browser sees a dropped connection
        else:
            route.continue_()

    def drive(page: Any) -> None:
        login(page, "admin", "pw-admin-123")
        accept_confirms(page)
        page.route("**/api/v1/uploads/*/", lose_the_last_answer)
        page.goto(f"/isos/upload/?host={sim_host.code}")
        page.set_input_files("#id_file", str(image))
        page.fill("#id_file_name", "late.iso")
        page.click("#upload-submit")
        page.wait_for_selector("#upload-message:has-text('Connection lost')", timeout=20000)
        page.click("#upload-cancel")
        page.wait_for_selector("#upload-error:not([hidden])", timeout=10000)
        shown.append(page.inner_text("#upload-error"))

    _in_a_browser(live_server.url, drive)
    assert "already complete" in shown[0]
    assert "DELETE" in methods  # it did not know yet; the server refused to discard the file
    iso = IsoImage.objects.get(file_name="late.iso")
    job = wait_for_job(Job.objects.on(iso).get(kind=iso_jobs.UPLOAD))
    assert job.status == JobStatus.SUCCEEDED, job.error
    iso.refresh_from_db()
    assert iso.state == "ready" and iso.sha256 == hashlib.sha256(ISO).hexdigest()


def test_it_answers_410_when_the_upload_is_cancelled_during_its_last_put(
    admin_client, sim_host, admin_user
):
    session = new_session(sim_host, admin_user, len(ISO))
    sent = [False]

    def read(n: int) -> bytes:
        if not sent[0]:
            uploads.abort_session(UploadSession.objects.get(pk=session.pk))  # Cancel clicked
            sent[0] = True
            return ISO
        return b""

    with pytest.raises(uploads.UploadRefused) as refused:
        uploads.append_chunk(session, 0, read, len(ISO))
    assert refused.value.status == 410
    assert str(session.code) not in uploads._HASHERS  # noqa: SLF001
    assert UploadSession.objects.get(pk=session.pk).state == UploadSession.State.ABORTED
