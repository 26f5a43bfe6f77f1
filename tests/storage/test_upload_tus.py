"""ISO uploads over tus 1.0 (`/api/v1/uploads/`): the protocol's answers through the real views,
a chunk checksum that does not match, termination, and a standard client (tuspy) with a token
against a live server, whose upload a worker copies to the simulated host."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from django.urls import reverse
from tusclient import client as tus_client
from tusclient.uploader import Uploader

from accounts import tokens
from accounts.models import ApiToken
from dom0.sim import SimHost
from jobs.choices import JobStatus
from jobs.models import Job
from storage.jobs import isos as iso_jobs
from storage.models import IsoImage, UploadSession
from tests.storage.conftest import iso_bytes
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

ISO = iso_bytes(3 * 2**20 + 4321, seed=23)
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def _create(client, host, name: str, size: int, **meta: str):  # type: ignore[no-untyped-def]
    headers = {
        **TUS,
        "Upload-Length": str(size),
        "Upload-Metadata": _meta(filename=name, host=str(host.code), **meta),
    }
    return client.post(reverse("api:uploads"), headers=headers)


def _patch(client, url: str, offset: int, data: bytes, **headers: str):  # type: ignore[no-untyped-def]
    return client.patch(
        url,
        data=data,
        content_type=OCTETS,
        headers={**TUS, "Upload-Offset": str(offset), **headers},
    )


def _checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_options_announce_the_protocol(admin_client) -> None:
    response = admin_client.options(reverse("api:uploads"))
    assert response.status_code == 204
    assert response["Tus-Resumable"] == "1.0.0" and response["Tus-Version"] == "1.0.0"
    assert response["Tus-Extension"] == "creation,checksum,termination"
    assert response["Tus-Checksum-Algorithm"] == "sha256"
    assert int(response["Tus-Max-Size"]) > 0


def test_a_chunked_upload_with_checksums_completes_into_an_iso(worker, admin_client, sim_host):
    created = _create(admin_client, sim_host, "tus.iso", len(ISO))
    assert created.status_code == 201, created.content
    assert created["Tus-Resumable"] == "1.0.0"
    url = created["Location"]
    head = admin_client.head(url, headers=TUS)
    assert (head.status_code, head["Upload-Offset"], head["Upload-Length"]) == (
        200,
        "0",
        str(len(ISO)),
    )
    first = ISO[: 2**20]
    bad = _patch(admin_client, url, 0, first, **{"Upload-Checksum": _checksum(b"other")})
    assert bad.status_code == 460 and bad.json()["code"] == "checksum_mismatch"
    assert admin_client.head(url, headers=TUS)["Upload-Offset"] == "0"  # the chunk was discarded
    ok = _patch(admin_client, url, 0, first, **{"Upload-Checksum": _checksum(first)})
    assert (ok.status_code, ok["Upload-Offset"]) == (204, str(2**20))
    stale = _patch(admin_client, url, 0, ISO[:10])
    assert stale.status_code == 409 and stale["Upload-Offset"] == str(2**20)
    last = _patch(admin_client, url, 2**20, ISO[2**20 :])
    assert (last.status_code, last["Upload-Offset"]) == (204, str(len(ISO)))
    iso = IsoImage.objects.get(file_name="tus.iso")
    job = wait_for_job(Job.objects.on(iso).filter(kind=iso_jobs.UPLOAD).get())
    assert job.status == JobStatus.SUCCEEDED, job.error
    iso.refresh_from_db()
    assert (iso.state, iso.sha256) == ("ready", hashlib.sha256(ISO).hexdigest())
    assert admin_client.head(url, headers=TUS)["Upload-Offset"] == str(len(ISO))


def test_protocol_errors(admin_client, sim_host) -> None:
    no_version = admin_client.post(reverse("api:uploads"), headers={"Upload-Length": "9"})
    assert no_version.status_code == 412 and no_version["Tus-Version"] == "1.0.0"
    bad_meta = admin_client.post(
        reverse("api:uploads"),
        headers={**TUS, "Upload-Length": "9", "Upload-Metadata": "filename !!"},
    )
    assert bad_meta.status_code == 400
    no_host = admin_client.post(
        reverse("api:uploads"),
        headers={**TUS, "Upload-Length": "70000", "Upload-Metadata": _meta(filename="a.iso")},
    )
    assert no_host.status_code == 400 and "host" in no_host.json()["fields"]
    url = _create(admin_client, sim_host, "e.iso", 70000)["Location"]
    wrong_type = admin_client.patch(
        url,
        data=b"x",
        content_type="application/octet-stream",
        headers={**TUS, "Upload-Offset": "0"},
    )
    assert wrong_type.status_code == 415
    algo = _patch(admin_client, url, 0, b"x", **{"Upload-Checksum": "md5 AAAA"})
    assert algo.status_code == 400
    not_iso = _patch(admin_client, url, 0, b"\0" * 40000)
    assert not_iso.status_code == 415 and "ISO 9660" in not_iso.json()["detail"]
    assert admin_client.head(url, headers=TUS).status_code == 410


def test_termination_discards_the_upload_and_its_image(admin_client, sim_host) -> None:
    url = _create(admin_client, sim_host, "gone.iso", len(ISO))["Location"]
    assert _patch(admin_client, url, 0, ISO[:50000]).status_code == 204
    session = UploadSession.objects.get(file_name="gone.iso")
    response = admin_client.delete(url, headers=TUS)
    assert response.status_code == 204 and response["Tus-Resumable"] == "1.0.0"
    assert not session.local_path.exists()
    assert not IsoImage.objects.filter(file_name="gone.iso").exists()
    assert admin_client.head(url, headers=TUS).status_code == 410


class Sha256Uploader(Uploader):
    """tuspy's uploader sends sha1 checksums unless told otherwise; the panel takes sha256."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def test_tuspy_uploads_with_a_token(worker, live_server, sim_host, django_user_model) -> None:
    user = django_user_model.objects.create_superuser("tusadmin", "t@example.com", "pw-tus-1")
    token = tokens.issue(user, "tuspy", scope=ApiToken.Scope.WRITE).secret
    client = tus_client.TusClient(
        live_server.url + reverse("api:uploads"), headers={"Authorization": f"Bearer {token}"}
    )
    uploader = Sha256Uploader(
        client=client,
        file_stream=io.BytesIO(ISO),
        chunk_size=2**20,
        metadata={"filename": "tuspy.iso", "host": str(sim_host.code)},
        upload_checksum=True,
    )
    uploader.upload()
    iso = IsoImage.objects.get(file_name="tuspy.iso")
    job = wait_for_job(Job.objects.on(iso).filter(kind=iso_jobs.UPLOAD).get())
    assert job.status == JobStatus.SUCCEEDED, job.error
    iso.refresh_from_db()
    assert (iso.state, iso.sha256, iso.owner) == ("ready", hashlib.sha256(ISO).hexdigest(), user)
    on_host = SimHost(sim_host.sim_dir).path("/var/lib/xenpanel/isos/tuspy.iso")
    assert on_host.read_bytes() == ISO
