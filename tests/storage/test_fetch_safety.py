"""The fetch job cannot be turned against the host's network or against files already there."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dom0.parsers import classify_error
from dom0.sim import SimHost
from jobs.choices import JobStatus
from jobs.models import Job
from storage.jobs import isos as iso_jobs
from storage.models import IsoImage
from tests.storage.conftest import iso_bytes
from tests.support.jobs import wait_for_job

ISO = iso_bytes(2**20)


def _fetch(client, host, url: str) -> Job:
    response = client.post(
        reverse("isos:fetch"), {"host": host.pk, "url": url, "allow_private": "on"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return wait_for_job(Job.objects.filter(kind=iso_jobs.FETCH).latest("created_at"))


@pytest.mark.django_db(transaction=True)
def test_it_does_not_follow_redirects(worker, admin_client, sim_host, http_files):
    http_files.files["/inside.iso"] = ISO
    http_files.redirects["/outside.iso"] = f"{http_files.url}/inside.iso"
    job = _fetch(admin_client, sim_host, f"{http_files.url}/outside.iso")
    assert job.status == JobStatus.FAILED
    assert "Moved Temporarily" in job.error
    assert all("-A" in s.argv for s in job.steps.all() if s.argv and s.argv[0] == "fetch")


@pytest.mark.django_db(transaction=True)
def test_it_refuses_and_removes_a_download_that_is_not_an_iso(
    worker, admin_client, sim_host, http_files
):
    http_files.files["/page.iso"] = b"<html>internal admin page</html>" * 2000
    job = _fetch(admin_client, sim_host, f"{http_files.url}/page.iso")
    assert job.status == JobStatus.FAILED
    assert "not an ISO 9660 image" in job.error
    assert not SimHost(sim_host.sim_dir).path("/var/lib/xenpanel/isos/page.iso").exists()
    assert IsoImage.objects.get(file_name="page.iso").state == IsoImage.State.FAILED


@pytest.mark.django_db(transaction=True)
def test_it_keeps_a_download_token_out_of_pages_and_errors(
    worker, admin_client, sim_host, http_files
):
    job = _fetch(admin_client, sim_host, f"{http_files.url}/gone.iso?token=SEKRET42")
    assert job.status == JobStatus.FAILED
    iso = IsoImage.objects.get(file_name="gone.iso")
    assert "SEKRET42" not in job.error + iso.error + iso.source_url
    for step in job.steps.all():
        assert "SEKRET42" not in f"{step.argv} {step.output}"
    page = admin_client.get(iso.get_absolute_url()).content.decode()
    assert "SEKRET42" not in page and "Not Found" in job.error


@pytest.mark.django_db(transaction=True)
def test_it_never_replaces_a_file_it_did_not_put_there(worker, admin_client, sim_host, http_files):
    http_files.files["/mine.iso"] = ISO
    existing = SimHost(sim_host.sim_dir).path("/var/lib/xenpanel/isos/mine.iso")
    existing.parent.mkdir(parents=True, exist_ok=True)
    existing.write_bytes(b"hand-placed image")
    job = _fetch(admin_client, sim_host, f"{http_files.url}/mine.iso")
    assert job.status == JobStatus.FAILED
    assert "already exists" in job.error
    assert existing.read_bytes() == b"hand-placed image"


@pytest.mark.django_db
def test_it_streams_no_upload_to_disk_for_a_viewer(viewer_client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = viewer_client.post(
        reverse("isos:upload"),
        {"file": SimpleUploadedFile("x.iso", b"\0" * 40000)},
    )
    assert response.status_code == 403
    leftovers = list(settings.UPLOAD_DIR.glob("*")) if settings.UPLOAD_DIR.exists() else []
    assert leftovers == []


def test_it_reads_past_a_missing_xl_conf_to_the_real_error():
    stderr = (
        "Failed to read config file: /usr/local/etc/xen/xl.conf: No such file or directory\n"
        "PV control interface not available: external graceful shutdown not possible.\n"
        "shutdown failed (rc=-10)\n"
    )
    error = classify_error(["xl", "shutdown", "web"], 1, "", stderr)
    assert "xl.conf" not in str(error)


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_fetch_past_the_iso_quota_once_the_size_is_known(
    worker, operator, operator_client, sim_host, http_files, settings
):
    from accounts.models import Quota

    settings.FETCH_ALLOW_PRIVATE = True  # the test server is on 127.0.0.1
    Quota.objects.create(user=operator, iso_bytes=len(ISO) // 2)
    http_files.files["/big.iso"] = ISO
    response = operator_client.post(
        reverse("isos:fetch"), {"host": sim_host.pk, "url": f"{http_files.url}/big.iso"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    job = wait_for_job(Job.objects.filter(kind=iso_jobs.FETCH).latest("created_at"))
    assert job.status == JobStatus.FAILED
    assert "quota" in job.error.lower()
    assert not [s for s in job.steps.all() if s.argv and "-o" in s.argv]  # nothing downloaded
    assert not SimHost(sim_host.sim_dir).path("/var/lib/xenpanel/isos/big.iso").exists()


@pytest.mark.django_db(transaction=True)
def test_it_stops_a_download_of_unknown_size_once_it_passes_the_iso_quota(
    worker, operator, operator_client, sim_host, http_files, settings
):
    from accounts.models import Quota

    settings.FETCH_ALLOW_PRIVATE = True
    Quota.objects.create(user=operator, iso_bytes=len(ISO) // 2)
    http_files.files["/chunked.iso"] = ISO
    http_files.unsized.add("/chunked.iso")
    # The server holds back the last quarter: the job sees the file pass the quota mid-download.
    http_files.pause_at = 3 * len(ISO) // 4
    response = operator_client.post(
        reverse("isos:fetch"), {"host": sim_host.pk, "url": f"{http_files.url}/chunked.iso"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    job = wait_for_job(Job.objects.filter(kind=iso_jobs.FETCH).latest("created_at"))
    assert job.status == JobStatus.FAILED
    assert "Quota exceeded" in job.error and "Internal error" not in job.error
    assert not SimHost(sim_host.sim_dir).path("/var/lib/xenpanel/isos/chunked.iso").exists()
