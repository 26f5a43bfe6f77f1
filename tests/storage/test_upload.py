"""Uploading an ISO through the real upload views: chunked, interrupted and resumed, checked,
then copied to the simulated host by a job."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dom0.sim import SimHost
from hosts.models import Host
from jobs.choices import JobStatus
from jobs.models import Job
from storage import uploads
from storage.jobs import isos as iso_jobs
from storage.models import IsoImage, UploadSession
from tests.storage.conftest import iso_bytes
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

ISO = iso_bytes(5 * 2**20 + 12345, seed=11)
CSRF = "k" * 32


def _create(client, host: Host, name: str, size: int, **extra: str) -> dict:
    response = client.post(
        reverse("isos:upload_create"), {"host": host.pk, "file_name": name, "size": size, **extra}
    )
    assert response.status_code == 201, response.content
    return response.json()


def _put(client, url: str, offset: int, data: bytes):
    return client.put(
        url, data=data, content_type="application/octet-stream", HTTP_UPLOAD_OFFSET=str(offset)
    )


def _offset(client, url: str) -> int:
    return int(client.get(url).json()["offset"])


def _upload_job(iso: IsoImage) -> Job:
    return wait_for_job(Job.objects.on(iso).filter(kind=iso_jobs.UPLOAD).get())


def _cut_connection(
    live_url: str, path: str, cookie: str, offset: int, total: int, send: bytes
) -> None:
    """PUT a chunk announcing `total` bytes but send only `send`, then drop the connection."""
    where = urlsplit(live_url)
    with socket.create_connection((where.hostname, where.port)) as sock:
        head = (
            f"PUT {path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Length: {total}\r\n"
            f"Content-Type: application/octet-stream\r\nUpload-Offset: {offset}\r\n"
            f"X-CSRFToken: {CSRF}\r\nCookie: sessionid={cookie}; csrftoken={CSRF}\r\n\r\n"
        )
        sock.sendall(head.encode() + send)
        sock.shutdown(socket.SHUT_WR)


def test_it_resumes_an_interrupted_upload_and_copies_an_identical_file(
    worker, admin_client, sim_host, live_server
):
    session = _create(admin_client, sim_host, "resumed.iso", len(ISO))
    url, chunk = session["url"], 2 * 2**20
    assert _put(admin_client, url, 0, ISO[:chunk]).json()["offset"] == chunk
    # The second chunk's connection drops after 700 KB: the server keeps what arrived.
    cookie = admin_client.cookies["sessionid"].value
    sent = 700_000
    _cut_connection(live_server.url, url, cookie, chunk, chunk, ISO[chunk : chunk + sent])
    deadline = time.monotonic() + 10
    while _offset(admin_client, url) != chunk + sent:
        assert time.monotonic() < deadline, _offset(admin_client, url)
        time.sleep(0.05)
    # A client that lost track and resends from the wrong place is told where to go on.
    wrong = _put(admin_client, url, chunk, ISO[chunk : chunk + 10])
    assert wrong.status_code == 409 and wrong.json()["offset"] == chunk + sent
    offset = chunk + sent
    while offset < len(ISO):
        answer = _put(admin_client, url, offset, ISO[offset : offset + chunk]).json()
        offset = answer["offset"]
    assert answer["state"] == "complete"
    iso = IsoImage.objects.get(file_name="resumed.iso")
    job = _upload_job(iso)
    assert job.status == JobStatus.SUCCEEDED, job.error
    iso.refresh_from_db()
    digest = hashlib.sha256(ISO).hexdigest()
    assert (iso.state, iso.sha256, iso.size_bytes, iso.source) == (
        "ready",
        digest,
        len(ISO),
        "upload",
    )
    on_host = SimHost(sim_host.sim_dir).path("/var/lib/xenpanel/isos/resumed.iso")
    assert on_host.read_bytes() == ISO
    assert not UploadSession.objects.get(iso=iso).local_path.exists()  # cleaned after the copy
    assert [s.argv for s in job.steps.all() if s.argv] == [
        ["sha256", "-q", "/var/lib/xenpanel/isos/resumed.iso"]
    ]


def test_it_hashes_from_disk_when_chunks_land_in_another_process(worker, admin_client, sim_host):
    session = _create(
        admin_client, sim_host, "other.iso", len(ISO), checksum=hashlib.sha256(ISO).hexdigest()
    )
    url = session["url"]
    _put(admin_client, url, 0, ISO[:3_000_000])
    uploads._HASHERS.clear()  # as if the next chunk went to another gunicorn worker
    assert _put(admin_client, url, 3_000_000, ISO[3_000_000:]).json()["state"] == "complete"
    iso = IsoImage.objects.get(file_name="other.iso")
    assert _upload_job(iso).status == JobStatus.SUCCEEDED
    iso.refresh_from_db()
    assert iso.sha256 == hashlib.sha256(ISO).hexdigest() and iso.state == "ready"


def test_it_refuses_a_file_that_is_not_an_iso_as_soon_as_it_can(admin_client, sim_host):
    session = _create(admin_client, sim_host, "disk.img", 4 * 2**20)
    response = _put(admin_client, session["url"], 0, b"\x00" * 65536)
    assert response.status_code == 415
    assert "not an ISO 9660 image" in response.json()["error"]
    upload = UploadSession.objects.get(code=session["code"])
    assert upload.state == "failed" and not upload.local_path.exists()
    iso = IsoImage.objects.get(file_name="disk.img")
    assert iso.state == "failed" and "CD001" in iso.error
    assert _put(admin_client, session["url"], 65536, b"x").status_code == 409
    assert not Job.objects.exists()


def test_it_refuses_a_small_file_without_the_signature(admin_client, sim_host):
    session = _create(admin_client, sim_host, "tiny.iso", 100)
    response = _put(admin_client, session["url"], 0, b"hello" * 20)
    assert response.status_code == 415 and "not an ISO 9660 image" in response.json()["error"]


def test_it_refuses_files_over_the_size_limit(admin_client, sim_host, settings):
    settings.ISO_UPLOAD_MAX_BYTES = 2**20
    response = admin_client.post(
        reverse("isos:upload_create"),
        {"host": sim_host.pk, "file_name": "big.iso", "size": 2**20 + 1},
    )
    assert response.status_code == 400
    assert "larger than the upload limit" in json.dumps(response.json())
    session = _create(admin_client, sim_host, "fits.iso", 2**20)
    too_long = _put(admin_client, session["url"], 0, b"\x00" * (2**20 + 1))
    assert too_long.status_code == 413


def _stored(url: str) -> tuple[int, int]:
    session = UploadSession.objects.get(code=url.rstrip("/").rsplit("/", 1)[-1])
    return uploads.current_offset(session), session.received_bytes


def test_it_refuses_a_chunk_past_the_declared_size_and_stores_none_of_it(admin_client, sim_host):
    session = _create(admin_client, sim_host, "small.iso", len(ISO))
    url = session["url"]
    assert _put(admin_client, url, 0, ISO[:40_000]).status_code == 200
    # A chunk that would end past the declared size: 413, nothing written, the offset unchanged.
    too_long = _put(admin_client, url, 40_000, ISO[40_000:] + b"\x00")
    assert too_long.status_code == 413
    assert "past the declared size" in too_long.json()["error"]
    assert too_long["Upload-Offset"] == "40000" and too_long.json()["offset"] == 40_000
    assert _stored(url) == (40_000, 40_000) and _offset(admin_client, url) == 40_000
    # A chunk whose length is not stated (chunked transfer encoding) cannot be checked against the
    # size, and Django would read none of it: refused (it used to answer 200 storing nothing).
    for length in ("", "-1", "x", "\u00b2"):
        unsized = admin_client.put(
            url,
            data=ISO[40_000:] + b"\x00" * 100,
            content_type="application/octet-stream",
            HTTP_UPLOAD_OFFSET="40000",
            CONTENT_LENGTH=length,
        )
        assert unsized.status_code == 411, length
        assert "Content-Length" in unsized.json()["error"]
        assert unsized["Upload-Offset"] == "40000"
        assert _stored(url) == (40_000, 40_000)
    # The upload goes on from where it was: the right chunk completes it.
    rest = _put(admin_client, url, 40_000, ISO[40_000:])
    assert rest.status_code == 200 and rest.json()["offset"] == len(ISO)
    assert rest.json()["state"] == UploadSession.State.COMPLETE


def test_it_accepts_the_plain_form_without_javascript(worker, admin_client, sim_host):
    data = iso_bytes(200_000, seed=5)
    response = admin_client.post(
        reverse("isos:upload"),
        {
            "host": sim_host.pk,
            "file_name": "form.iso",
            "file": SimpleUploadedFile("form.iso", data),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    iso = IsoImage.objects.get(file_name="form.iso")
    assert _upload_job(iso).status == JobStatus.SUCCEEDED
    iso.refresh_from_db()
    assert iso.sha256 == hashlib.sha256(data).hexdigest() and iso.state == "ready"
    bad = admin_client.post(
        reverse("isos:upload"),
        {
            "host": sim_host.pk,
            "file_name": "bad.iso",
            "file": SimpleUploadedFile("bad.iso", b"\0" * 40000),
        },
    )
    assert bad.status_code == 200 and "not an ISO 9660 image" in bad.content.decode()
    assert not IsoImage.objects.filter(file_name="bad.iso").exists()


def test_it_keeps_csrf_on_for_the_upload_views(sim_host, operator):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    create = client.post(
        reverse("isos:upload_create"), {"host": sim_host.pk, "file_name": "a.iso", "size": 99999}
    )
    assert create.status_code == 403
    form = client.post(reverse("isos:upload"), {"host": sim_host.pk, "file_name": "a.iso"})
    assert form.status_code == 403
