"""Uploads to a host with its own worker queue: the bytes are on the panel's machine, so the copy
runs where they are (the central pool), or — for a Local host only its own worker reaches — the
central pool streams them to that worker through Redis."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dom0.sim import SimHost
from hosts.models import Host
from hosts.simhosts import create_sim_host
from jobs.choices import JobStatus
from jobs.models import Job
from jobs.tasks import run_job
from storage import relay
from storage.jobs import isos as iso_jobs
from storage.models import IsoImage, UploadSession
from tests.storage.conftest import iso_bytes
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

ISO = iso_bytes(3 * relay.BLOCK + 4321, seed=13)  # several relay blocks and a short last one
HOST_QUEUE = "host.test"  # a queue the test worker consumes, as a Dom0's own worker would


def _upload(client, host: Host, name: str) -> tuple[IsoImage, UploadSession]:
    response = client.post(
        reverse("isos:upload"),
        {"host": host.pk, "file_name": name, "file": SimpleUploadedFile(name, ISO)},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    iso = IsoImage.objects.get(host=host, file_name=name)
    return iso, UploadSession.objects.get(iso=iso)


def _job(iso: IsoImage) -> Job:
    return Job.objects.on(iso).filter(kind=iso_jobs.UPLOAD).get()


def _gone(path: Path, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()


def test_an_upload_to_a_host_with_its_own_queue_is_copied_from_the_central_pool(
    worker, operator_client, tmp_path
):
    host = create_sim_host("xen7", state_dir=tmp_path / "xen7")
    Host.objects.filter(pk=host.pk).update(queue=HOST_QUEUE)
    iso, session = _upload(operator_client, host, "pooled.iso")
    job = _job(iso)
    # Its first target is the image, its host has a queue: still the central pool's job.
    assert job.queue == django_settings.CELERY_TASK_DEFAULT_QUEUE
    assert job.params["relay"] is False
    job = wait_for_job(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert SimHost(host.sim_dir).path(iso.path).read_bytes() == ISO
    assert not session.local_path.exists()


def test_an_upload_to_a_local_host_with_its_own_worker_is_streamed_to_it(
    worker, operator_client, tmp_path
):
    host = create_sim_host("xen8", transport="local", state_dir=tmp_path / "xen8")
    Host.objects.filter(pk=host.pk).update(queue=HOST_QUEUE)
    iso, session = _upload(operator_client, host, "relayed.iso")
    job = _job(iso)
    # Only the Dom0's worker reaches a Local host: the job is its; the bytes come to it.
    assert job.queue == HOST_QUEUE and job.params["relay"] is True
    job = wait_for_job(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    received = job.steps.get(label__startswith="Receive the upload from the panel")
    assert hashlib.sha256(ISO).hexdigest() in received.output
    iso.refresh_from_db()
    assert iso.state == "ready" and iso.sha256 == hashlib.sha256(ISO).hexdigest()
    assert SimHost(host.sim_dir).path(iso.path).read_bytes() == ISO
    assert not relay.relay_staging(session).exists()  # the Dom0's staging copy
    assert _gone(session.local_path)  # the panel's copy, dropped by the central pool


def test_a_relay_whose_bytes_are_gone_fails_clearly(worker, operator_client, tmp_path):
    host = create_sim_host("xen9", transport="local", state_dir=tmp_path / "xen9")
    # Bytes received, but removed from the panel's machine before the copy: a queue no worker
    # takes holds the job until they are gone.
    Host.objects.filter(pk=host.pk).update(queue="host.nobody")
    iso, session = _upload(operator_client, host, "vanished.iso")
    job = _job(iso)
    assert job.queue == "host.nobody"
    session.local_path.unlink()
    Job.objects.filter(pk=job.pk).update(queue=HOST_QUEUE)
    run_job.apply_async(args=[job.pk], queue=HOST_QUEUE)
    job = wait_for_job(job)
    assert job.status == JobStatus.FAILED
    assert "no longer on the panel" in job.error
    iso.refresh_from_db()
    assert iso.state == "failed" and "Nothing was changed on xen9" in iso.error
    assert not relay.relay_staging(session).exists()
