"""Review findings on the resumable upload: refused requests, leaks, cancel after completion.

The keep-alive tests use gunicorn's own request parser on a loopback socket pair (as
test_upload_body.py does): after a refused PUT, gunicorn must find the client's next request
exactly where it starts.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hosts import uploads
from hosts.choices import JobStatus
from hosts.jobs import isos as iso_jobs
from hosts.models import Host, IsoImage, Job, UploadSession
from tests.e2e.conftest import CHROMIUM, login
from tests.hosts.storage.conftest import iso_bytes
from tests.hosts.storage.test_upload_body import _parse, _request, _send_later
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db

ISO = iso_bytes(200_000, seed=5)
NEXT = b"GET /next/ HTTP/1.1\r\nHost: t\r\n\r\n"
# Requests a client might pipeline after NEXT: enough bytes that a drain which eats into NEXT
# still finds an end (so a desync shows as the wrong request, not a hang).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FILLER = b"GET /filler/ HTTP/1.1\r\nHost: t\r\n\r\n" * 2000


def _session(host: Host, user, name: str = "a.iso", size: int = len(ISO)) -> UploadSession:  # type: ignore[no-untyped-def]
    iso = IsoImage.objects.create(
        host=host,
        file_name=name,
        owner=user,
        source=IsoImage.Source.UPLOAD,
        state=IsoImage.State.UPLOADING,
    )
    return uploads.create_session(iso, size, user)


def _reader(data: bytes) -> Callable[[int], bytes]:
    """Return a `read(n)` over `data`, as append_chunk takes it."""
    view = memoryview(data)

    def read(n: int) -> bytes:
        nonlocal view
        block, view = view[:n], view[n:]
        return bytes(block)

    return read


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# --- 1 and 2: a refused PUT keeps the connection in step and leaks nothing ---------------------
def _discard(session: UploadSession) -> None:
    session.local_path.unlink()


def _complete(session: UploadSession) -> None:
    UploadSession.objects.filter(pk=session.pk).update(state=UploadSession.State.COMPLETE)
    session.state = UploadSession.State.COMPLETE


REFUSALS: dict[str, tuple[int, Callable[[UploadSession], None] | None, int, int]] = {
    # name: (body length, prepare, Upload-Offset, expected status)
    "wrong offset": (3000, None, 5, 409),
    "past the declared size": (len(ISO) + 1, None, 0, 413),
    "session complete": (3000, _complete, 0, 409),
    "file discarded": (3000, _discard, 0, 410),
    "large body, wrong offset": (700_000, None, 7, 409),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_it_keeps_the_connection_in_step_after_a_refused_put(case, pair, sim_host, admin_user):
    server, client = pair
    length, prepare, offset, status = REFUSALS[case]
    session = _session(sim_host, admin_user)
    if prepare:
        prepare(session)
    sender = _send_later(client, _request(os.urandom(length)) + NEXT + FILLER)
    time.sleep(0.1)  # let gunicorn's first read take the headers and some of the body with them
    parser, _req, request = _parse(server)
    fds = _open_fds()
    with pytest.raises(uploads.UploadRefused) as refused:
        uploads.append_chunk(session, offset, uploads.request_body(request), length)
    assert refused.value.status == status
    assert _open_fds() == fds  # no pipe left behind
    following = next(parser)  # gunicorn drains the refused body, then reads the next request
    assert (following.method, following.path) == ("GET", "/next/")
    sender.join()


def test_it_keeps_the_connection_in_step_when_another_request_is_writing(
    pair, sim_host, admin_user
):
    server, client = pair
    session = _session(sim_host, admin_user)
    sender = _send_later(client, _request(os.urandom(3000)) + NEXT + FILLER)
    time.sleep(0.1)
    parser, _req, request = _parse(server)
    fd = os.open(session.local_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the other writer
        with pytest.raises(uploads.UploadRefused) as refused:
            uploads.append_chunk(session, 0, uploads.request_body(request), 3000)
    finally:
        os.close(fd)
    assert refused.value.status == 409
    following = next(parser)
    assert (following.method, following.path) == ("GET", "/next/")
    sender.join()


def test_it_leaks_no_descriptor_on_puts_refused_before_the_copy(sim_host, admin_user):
    done = _session(sim_host, admin_user, "done.iso")
    _complete(done)
    gone = _session(sim_host, admin_user, "gone.iso")
    _discard(gone)
    before = _open_fds()
    for _ in range(20):
        for session in (done, gone):
            with socket.create_server(("127.0.0.1", 0)) as listener:
                client = socket.create_connection(listener.getsockname())
                server, _ = listener.accept()
            with server, client:
                client.sendall(_request(b"x" * 100))
                _, _, request = _parse(server)
                with pytest.raises(uploads.UploadRefused):
                    uploads.append_chunk(session, 0, uploads.request_body(request), 100)
    assert _open_fds() == before


def test_it_still_copies_a_body_partly_read_ahead(pair, sim_host, admin_user):
    server, client = pair
    session = _session(sim_host, admin_user)
    sender = _send_later(client, _request(ISO[:150_000]) + NEXT)
    time.sleep(0.1)
    parser, req, request = _parse(server)
    result = uploads.append_chunk(session, 0, uploads.request_body(request), 150_000)
    assert result.offset == 150_000 and not result.complete
    assert session.local_path.read_bytes() == ISO[:150_000]
    assert req.body.reader.length == 0 and not req.body.failed
    following = next(parser)
    assert (following.method, following.path) == ("GET", "/next/")
    sender.join()
    uploads.abort_session(session)


# --- 3: the plain form keeps no stray file ---------------------------------------------------
def _form_post(client, host: Host, files: dict) -> object:  # type: ignore[no-untyped-def]
    return client.post(reverse("isos:upload"), {"host": host.pk, "file_name": "form.iso", **files})


def _left_in_upload_dir(settings) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(os.listdir(settings.UPLOAD_DIR)) if Path(settings.UPLOAD_DIR).exists() else []


@pytest.mark.parametrize(
    "files",
    [
        lambda: {"junk": SimpleUploadedFile("j.bin", b"A" * 1000), "file": _iso_file()},
        lambda: {"file": _iso_file(), "junk": SimpleUploadedFile("j.bin", b"A" * 1000)},
        lambda: {"file": [_iso_file(), _iso_file("b.iso")]},
    ],
    ids=["extra field first", "extra field after", "two files"],
)
def test_it_refuses_extra_files_in_the_plain_form_and_keeps_none(
    files, operator_client, sim_host, settings
):
    response = _form_post(operator_client, sim_host, files())
    assert response.status_code == 200
    assert b"one ISO file" in response.content
    assert _left_in_upload_dir(settings) == []
    assert not IsoImage.objects.filter(file_name="form.iso").exists()


def _iso_file(name: str = "a.iso") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ISO, content_type="application/octet-stream")


def test_it_still_takes_one_file_from_the_plain_form(operator_client, sim_host, settings):
    response = _form_post(operator_client, sim_host, {"file": _iso_file()})
    assert response.status_code == 302
    session = UploadSession.objects.get(iso__file_name="form.iso")
    assert _left_in_upload_dir(settings) == [session.local_path.name]
    assert session.local_path.read_bytes() == ISO


# --- 5: cancelling a finished upload keeps what the copy job needs ---------------------------
def test_it_answers_409_to_delete_after_the_upload_completed(admin_client, sim_host, admin_user):
    session = _session(sim_host, admin_user)
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
    session = _session(sim_host, admin_user)
    session.local_path.write_bytes(ISO)
    _complete(session)
    with pytest.raises(uploads.UploadRefused) as refused:
        uploads.abort_session(session)
    assert refused.value.status == 409
    assert session.local_path.exists()
    assert IsoImage.objects.filter(pk=session.iso_id).exists()
    receiving = _session(sim_host, admin_user, "b.iso")
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
    """The last PUT completes the file but its answer is lost; Cancel comes during the retry."""
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
        if request.method == "PUT" and offset + len(request.post_data_buffer or b"") == len(ISO):
            route.fetch()  # the server receives the whole chunk and completes the upload
            route.abort()  # ... but the browser sees a dropped connection
        else:
            route.continue_()

    def drive(page: Any) -> None:
        login(page, "admin", "pw-admin-123")
        page.on("dialog", lambda dialog: dialog.accept())
        page.route("**/isos/uploads/*/", lose_the_last_answer)
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
    job = wait_for_job(Job.objects.get(kind=iso_jobs.UPLOAD, target_key=iso.target_key))
    assert job.status == JobStatus.SUCCEEDED, job.error
    iso.refresh_from_db()
    assert iso.state == "ready" and iso.sha256 == hashlib.sha256(ISO).hexdigest()


# --- 9: abort during a PUT; hashers do not pile up -------------------------------------------
def test_it_answers_410_when_the_upload_is_cancelled_during_its_last_put(
    admin_client, sim_host, admin_user
):
    session = _session(sim_host, admin_user)
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


def test_it_forgets_a_hasher_whose_thread_went_idle(sim_host, admin_user, monkeypatch):
    monkeypatch.setattr(uploads, "HASHER_IDLE_SECONDS", 0.2)
    session = _session(sim_host, admin_user)
    uploads.append_chunk(session, 0, _reader(ISO[:50_000]), 50_000)
    key = str(session.code)
    assert key in uploads._HASHERS  # noqa: SLF001
    deadline = time.monotonic() + 5
    while key in uploads._HASHERS:  # noqa: SLF001
        assert time.monotonic() < deadline, "the idle hasher was never dropped"
        time.sleep(0.05)
    # The next chunk (in this process or another) hashes from disk and the digest is right.
    assert uploads.append_chunk(session, 50_000, _reader(ISO[50_000:]), len(ISO) - 50_000).complete
    session.refresh_from_db()
    assert session.sha256 == hashlib.sha256(ISO).hexdigest()
    assert key not in uploads._HASHERS  # noqa: SLF001


def test_it_drops_the_hasher_when_a_session_ends(sim_host, admin_user):
    for end in (uploads.abort_session, lambda s: uploads.fail_session(s, "no")):
        session = _session(sim_host, admin_user, f"{id(end)}.iso")
        uploads.append_chunk(session, 0, _reader(ISO[:50_000]), 50_000)
        assert str(session.code) in uploads._HASHERS  # noqa: SLF001
        end(session)
        assert str(session.code) not in uploads._HASHERS  # noqa: SLF001
