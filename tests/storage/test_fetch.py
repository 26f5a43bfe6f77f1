"""Fetching an ISO on the (simulated) host from a real local HTTP server: progress, checksum,
cancel, and the errors a person sees."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import pytest
from django.urls import reverse

from dom0.sim import SimHost
from hosts.models import Host
from jobs.choices import JobStatus
from jobs.models import Job
from storage.jobs import isos as iso_jobs
from storage.models import IsoImage
from tests.storage.conftest import iso_bytes
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

ISO = iso_bytes(3 * 2**20)


def _fetch(client, host: Host, url: str, **extra: str):
    data = {"host": host.pk, "url": url, **extra}
    return client.post(reverse("isos:fetch"), data)


def _job() -> Job:
    return Job.objects.filter(kind=iso_jobs.FETCH).latest("created_at")


def _watch(job: Job, until: Callable[[Job], bool] | None = None, timeout: float = 30) -> list[int]:
    """Return the progress values seen while the job ran (polled like the page does).

    Stops when the job ends, or as soon as `until(job)` holds.
    """
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if not seen or seen[-1] != job.progress:
            seen.append(job.progress)
        if not job.is_active or (until is not None and until(job)):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job still {job.status} at {job.progress}%")


def test_it_fetches_with_progress_and_records_the_sha256(
    worker, admin_client, sim_host, http_files
):
    http_files.files["/FreeBSD-14.1-bootonly.iso"] = ISO
    http_files.pause_at = len(ISO) // 2  # the second half waits until the bar has moved
    digest = hashlib.sha256(ISO).hexdigest()
    response = _fetch(
        admin_client,
        sim_host,
        f"{http_files.url}/FreeBSD-14.1-bootonly.iso",
        allow_private="on",
        checksum=f"SHA256 (FreeBSD-14.1-bootonly.iso) = {digest}",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    seen = _watch(_job(), until=lambda job: 10 < job.progress < 90)
    http_files.resume.set()
    seen += _watch(_job())
    job = _job()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert seen == sorted(seen) and seen[0] < 10 and seen[-1] == 100
    assert any(10 < p < 90 for p in seen), seen  # the bar moved while bytes arrived
    iso = IsoImage.objects.get(file_name="FreeBSD-14.1-bootonly.iso")
    assert (iso.state, iso.sha256, iso.size_bytes) == ("ready", digest, len(ISO))
    assert iso.expected_algo == "sha256" and iso.source == "url"
    on_host = SimHost(sim_host.sim_dir).path("/var/lib/xenpanel/isos/FreeBSD-14.1-bootonly.iso")
    assert on_host.read_bytes() == ISO
    argvs = [s.argv for s in job.steps.all() if s.argv]
    assert argvs[0][:2] == ["fetch", "-s"]
    assert argvs[1][:2] == ["fetch", "-q"] and "-o" in argvs[1]
    assert ["sha256", "-q", "/var/lib/xenpanel/isos/FreeBSD-14.1-bootonly.iso"] in argvs
    page = admin_client.get(iso.get_absolute_url()).content.decode()
    assert digest in page and "verified" in page and "hx-trigger" not in page


def test_it_marks_the_image_bad_when_the_checksum_differs(
    worker, admin_client, sim_host, http_files
):
    http_files.files["/a.iso"] = ISO
    wrong = hashlib.sha512(b"something else").hexdigest()
    _fetch(admin_client, sim_host, f"{http_files.url}/a.iso", allow_private="on", checksum=wrong)
    job = wait_for_job(_job())
    assert job.status == JobStatus.FAILED
    iso = IsoImage.objects.get(file_name="a.iso")
    assert iso.state == "bad" and "Checksum mismatch: expected SHA512" in iso.error
    assert iso.sha256 == hashlib.sha256(ISO).hexdigest()
    page = admin_client.get(reverse("isos:list")).content.decode()
    assert "Checksum mismatch" in page


def test_it_cancels_and_removes_the_partial_file(worker, admin_client, sim_host, http_files):
    http_files.files["/slow.iso"] = ISO
    http_files.pause_at = 3 * 65536  # the rest never comes: the job is cancelled meanwhile
    _fetch(admin_client, sim_host, f"{http_files.url}/slow.iso", allow_private="on")
    job = _job()
    partial = SimHost(sim_host.sim_dir).path("/var/lib/xenpanel/isos/slow.iso")
    assert http_files.paused.wait(15), "the download never started"
    deadline = time.monotonic() + 15
    while not (partial.exists() and partial.stat().st_size > 2 * 65536):
        assert time.monotonic() < deadline, "the first bytes never reached the file"
        time.sleep(0.05)
    iso = IsoImage.objects.get(file_name="slow.iso")
    response = admin_client.post(reverse("isos:cancel", args=[iso.code]))
    assert response.status_code == 302
    job = wait_for_job(job)
    assert job.status == JobStatus.CANCELLED
    assert not partial.exists()
    iso.refresh_from_db()
    assert iso.state == "cancelled" and "partial file was removed" in iso.error


def test_it_reports_a_404_clearly(worker, admin_client, sim_host, http_files):
    _fetch(admin_client, sim_host, f"{http_files.url}/missing.iso", allow_private="on")
    job = wait_for_job(_job())
    assert job.status == JobStatus.FAILED
    assert f"Could not download {http_files.url}/missing.iso: Not Found" in job.error
    iso = IsoImage.objects.get(file_name="missing.iso")
    assert iso.state == "failed" and "Not Found" in iso.error


def test_it_refuses_private_addresses_unless_an_admin_allows_them(
    worker, admin_client, operator_client, sim_host, http_files
):
    http_files.files["/x.iso"] = ISO
    for client in (admin_client, operator_client):
        page = _fetch(client, sim_host, f"{http_files.url}/x.iso").content.decode()
        assert "loopback, private, link-local" in page
    assert "allow_private" not in operator_client.get(reverse("isos:fetch")).content.decode()
    # An operator cannot smuggle the admin flag in.
    page = _fetch(operator_client, sim_host, f"{http_files.url}/x.iso", allow_private="on")
    assert "loopback, private, link-local" in page.content.decode()
    # A host name that resolves to loopback is refused after resolution too.
    page = _fetch(admin_client, sim_host, "http://localhost.localdomain./x.iso")
    assert "loopback" in page.content.decode() or "does not resolve" in page.content.decode()
    assert not Job.objects.filter(kind=iso_jobs.FETCH).exists()
    assert (
        _fetch(admin_client, sim_host, f"{http_files.url}/x.iso", allow_private="on").status_code
        == 302
    )
    assert wait_for_job(_job()).status == JobStatus.SUCCEEDED


def test_it_refuses_credentials_and_other_schemes(admin_client, sim_host):
    for url, text in [
        ("http://user:secret@example.org/a.iso", "user name or password"),
        ("file:///etc/passwd", "http://, https:// or ftp://"),
    ]:
        page = _fetch(admin_client, sim_host, url).content.decode()
        assert text in page.replace("&#x27;", "'")
        assert "secret" not in page
