"""Images that did not become usable: a one-click Remove that says what is on the host, the
daily sweep, and quotas that count only what exists or is on its way."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Quota
from accounts.quotas import usage
from dom0.sim import SimHost
from jobs.choices import JobStatus
from jobs.enqueue import Target, add_targets
from jobs.models import Job
from storage.jobs import isos as iso_jobs
from storage.models import IsoImage, UploadSession
from storage.tasks import sweep_failed
from tests.storage.conftest import iso_bytes
from tests.support.jobs import wait_for_job

ISO = iso_bytes(200_000, seed=3)
DAY = 24 * 3600


def _image(host, name: str, state: str, owner=None, **values) -> IsoImage:  # type: ignore[no-untyped-def]
    values.setdefault("source", "url")
    return IsoImage.objects.create(host=host, file_name=name, state=state, owner=owner, **values)


def _fetch_job(client, host, url: str) -> Job:  # type: ignore[no-untyped-def]
    response = client.post(
        reverse("isos:fetch"), {"host": host.pk, "url": url, "allow_private": "on"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Job.objects.filter(kind=iso_jobs.FETCH).latest("created_at")


# --- Remove --------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_failed_fetch_is_removed_in_one_click(worker, admin_client, sim_host, http_files):
    job = wait_for_job(_fetch_job(admin_client, sim_host, f"{http_files.url}/missing.iso"))
    assert job.status == JobStatus.FAILED
    iso = IsoImage.objects.get(file_name="missing.iso")
    assert iso.state == "failed" and "Nothing was changed on xen1" in iso.error
    listing = admin_client.get(reverse("isos:list")).content.decode()
    assert reverse("isos:remove", args=[iso.code]) in listing
    page = admin_client.get(iso.get_absolute_url()).content.decode()
    assert 'data-removal="forget"' in page and "Nothing of this image is on xen1" in page
    assert reverse("isos:delete", args=[iso.code]) not in page  # no typed Delete for it

    response = admin_client.post(reverse("isos:remove", args=[iso.code]), follow=True)
    assert "nothing of it was on xen1" in response.content.decode()
    assert not IsoImage.objects.filter(pk=iso.pk).exists()
    assert Job.objects.filter(kind=iso_jobs.DELETE).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_bad_image_is_removed_from_the_host_too(worker, admin_client, sim_host, http_files):
    http_files.files["/bad.iso"] = ISO
    response = admin_client.post(
        reverse("isos:fetch"),
        {"host": sim_host.pk, "url": f"{http_files.url}/bad.iso", "allow_private": "on",
         "checksum": "0" * 64},
    )  # fmt: skip
    assert response.status_code == 302
    assert wait_for_job(Job.objects.filter(kind=iso_jobs.FETCH).get()).status == "failed"
    iso = IsoImage.objects.get(file_name="bad.iso")
    on_host = SimHost(sim_host.sim_dir).path(iso.path)
    assert iso.state == "bad" and on_host.exists()
    page = admin_client.get(iso.get_absolute_url()).content.decode()
    assert 'data-removal="delete"' in page and "failed its checksum" in page

    admin_client.post(reverse("isos:remove", args=[iso.code]))
    job = wait_for_job(Job.objects.filter(kind=iso_jobs.DELETE).get())
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert not on_host.exists() and not IsoImage.objects.filter(pk=iso.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_partial_copy_the_job_could_not_remove_is_removed_by_remove(
    worker, admin_client, sim_host, http_files
):
    """The host stops answering mid-download: the image says a partial copy may remain, and
    its Remove deletes it from the host once the host answers."""
    http_files.files["/half.iso"] = ISO
    http_files.pause_at = 65536
    sim = SimHost(sim_host.sim_dir)
    job = _fetch_job(admin_client, sim_host, f"{http_files.url}/half.iso")
    partial = sim.path("/var/lib/xenpanel/isos/half.iso")
    assert http_files.paused.wait(15)
    deadline = time.monotonic() + 15
    while not partial.exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sim.set_faults(unreachable=True)
    job = wait_for_job(job)
    assert job.status == JobStatus.FAILED
    iso = IsoImage.objects.get(file_name="half.iso")
    assert iso.state == "failed" and "A partial copy may remain" in iso.error
    assert job.result["iso_left_on_host"] == iso.path
    sim.set_faults(unreachable=False)
    http_files.resume.set()
    page = admin_client.get(iso.get_absolute_url()).content.decode()
    assert 'data-removal="delete"' in page

    admin_client.post(reverse("isos:remove", args=[iso.code]))
    delete = wait_for_job(Job.objects.filter(kind=iso_jobs.DELETE).get())
    assert delete.status == JobStatus.SUCCEEDED, delete.error
    assert not partial.exists() and not IsoImage.objects.filter(pk=iso.pk).exists()


@pytest.mark.django_db
def test_only_an_unusable_image_is_removed(admin_client, sim_host):
    ready = _image(sim_host, "ok.iso", "ready")
    response = admin_client.post(reverse("isos:remove", args=[ready.code]), follow=True)
    assert "Only a failed, cancelled or bad image" in response.content.decode()
    assert IsoImage.objects.filter(pk=ready.pk).exists()


@pytest.mark.django_db
def test_a_fetch_cancelled_before_it_ran_is_cancelled_and_holds_nothing(
    admin_client, sim_host, operator_client, operator
):
    # No commit in this test: the job is never sent, as when every worker is busy.
    quota = Quota.objects.create(user=operator, iso_bytes=10**9)
    job = _fetch_job(operator_client, sim_host, "https://151.101.2.132/pub/queued.iso")
    iso = IsoImage.objects.get(file_name="queued.iso")
    IsoImage.objects.filter(pk=iso.pk).update(size_bytes=5000)
    assert usage(quota, "iso_bytes") == 5000  # its job is queued: on its way
    operator_client.post(reverse("isos:cancel", args=[iso.code]))
    job.refresh_from_db()
    iso.refresh_from_db()
    assert job.status == "cancelled"
    assert iso.state == "cancelled" and "nothing reached xen1" in iso.error
    assert usage(quota, "iso_bytes") == 0


@pytest.mark.django_db
def test_an_image_a_job_left_on_its_way_counts_nothing_and_can_be_removed(
    operator_client, sim_host, operator
):
    quota = Quota.objects.create(user=operator, iso_bytes=10**9)
    iso = _image(sim_host, "stuck.iso", "fetching", operator, size_bytes=7000)
    job = Job.objects.create(kind=iso_jobs.FETCH, title="Fetch stuck.iso", status="running")
    add_targets(job, [Target("iso", iso), Target("host", sim_host)])
    assert usage(quota, "iso_bytes") == 7000
    Job.objects.filter(pk=job.pk).update(
        status="failed", started_at=timezone.now(), finished_at=timezone.now()
    )  # the reaper gave up on it: its worker died
    assert usage(quota, "iso_bytes") == 0
    page = operator_client.get(iso.get_absolute_url()).content.decode()
    assert "a partial copy may remain" in page
    response = operator_client.post(reverse("isos:remove", args=[iso.code]), follow=True)
    assert "may remain at /var/lib/xenpanel/isos/stuck.iso" in response.content.decode()
    assert not IsoImage.objects.filter(pk=iso.pk).exists()


@pytest.mark.django_db
def test_failed_and_cancelled_images_hold_no_iso_quota(sim_host, operator):
    quota = Quota.objects.create(user=operator, iso_bytes=10**9)
    _image(sim_host, "a.iso", "ready", operator, size_bytes=100)
    _image(sim_host, "b.iso", "bad", operator, size_bytes=20)  # still on the host
    _image(sim_host, "c.iso", "failed", operator, size_bytes=3000)
    _image(sim_host, "d.iso", "cancelled", operator, size_bytes=40000)
    receiving = _image(sim_host, "e.iso", "uploading", operator, size_bytes=5)
    UploadSession.objects.create(owner=operator, iso=receiving, file_name="e.iso", size_bytes=5)
    assert usage(quota, "iso_bytes") == 125


# --- the sweep -----------------------------------------------------------------------------------
def _age(iso: IsoImage, seconds: float) -> None:
    IsoImage.objects.filter(pk=iso.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def _old_file(path: Path, seconds: float = 2 * DAY) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


@pytest.mark.django_db
def test_the_sweep_forgets_failed_images_after_a_day(sim_host, operator, settings):
    old_failed = _image(sim_host, "old-failed.iso", "failed", operator)
    old_cancelled = _image(sim_host, "old-cancelled.iso", "cancelled", operator)
    young = _image(sim_host, "young.iso", "failed", operator)
    bad = _image(sim_host, "bad.iso", "bad", operator)
    ready = _image(sim_host, "ready.iso", "ready", operator)
    stuck = _image(sim_host, "stuck.iso", "pending", operator)  # its fetch ended unsettled
    leftover = _image(sim_host, "left.iso", "failed", operator)
    done = Job.objects.create(
        kind=iso_jobs.FETCH, title="Fetch left.iso", status="failed",
        result={"iso_left_on_host": leftover.path},
        finished_at=timezone.now() - timedelta(days=2),
    )  # fmt: skip
    add_targets(done, [Target("iso", leftover)])
    for iso in (old_failed, old_cancelled, bad, ready, stuck, leftover):
        _age(iso, 2 * DAY)
    _age(young, DAY - 60)
    # A failed upload: its row, its session and its bytes on this machine.
    IsoImage.objects.filter(pk=old_failed.pk).update(source="upload")
    session = UploadSession.objects.create(
        owner=operator, iso=old_failed, file_name="old-failed.iso", size_bytes=10, state="failed"
    )
    part = _old_file(session.local_path)
    two_days_ago = timezone.now() - timedelta(days=2)
    UploadSession.objects.filter(pk=session.pk).update(updated_at=two_days_ago)
    # An upload the browser gave up on two days ago, and stray files nobody owns.
    abandoned = _image(sim_host, "abandoned.iso", "uploading", operator, source="upload")
    gone = UploadSession.objects.create(
        owner=operator, iso=abandoned, file_name="abandoned.iso", size_bytes=10
    )
    _old_file(gone.local_path)
    UploadSession.objects.filter(pk=gone.pk).update(updated_at=two_days_ago)
    stray = _old_file(Path(settings.UPLOAD_DIR) / "form-abc123.part")
    fresh = _old_file(Path(settings.UPLOAD_DIR) / "form-def456.part", seconds=60)

    counts = sweep_failed(DAY)

    left = set(IsoImage.objects.values_list("file_name", flat=True))
    assert left == {"young.iso", "bad.iso", "ready.iso", "left.iso"}
    assert not UploadSession.objects.filter(pk__in=[session.pk, gone.pk]).exists()
    assert not part.exists() and not gone.local_path.exists() and not stray.exists()
    assert fresh.exists()
    assert counts["images"] == 3 and counts["files"] == 1


def test_the_sweep_is_a_celery_task():
    from xenpanel.celery import app

    assert "storage.tasks.sweep_failed" in app.tasks
    assert "storage.tasks.send_upload" in app.tasks


@pytest.mark.django_db
def test_the_sweep_keeps_an_image_a_domu_has_attached(sim_host, operator):
    from domains.models import Domain

    iso = _image(sim_host, "attached.iso", "failed", operator)
    _age(iso, 2 * DAY)
    Domain.objects.create(host=sim_host, name="web1", memory_mb=512, iso=iso, owner=operator)
    sweep_failed(DAY)
    assert IsoImage.objects.filter(pk=iso.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_upload_is_removed_with_its_bytes(worker, operator_client, sim_host):
    # A file of that name is on the host already (not the panel's): the copy job refuses.
    SimHost(sim_host.sim_dir).path("/var/lib/xenpanel/isos/taken.iso").parent.mkdir(
        parents=True, exist_ok=True
    )
    theirs = SimHost(sim_host.sim_dir).path("/var/lib/xenpanel/isos/taken.iso")
    theirs.write_bytes(b"someone else's")
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = operator_client.post(
        reverse("isos:upload"),
        {"host": sim_host.pk, "file_name": "taken.iso", "file": SimpleUploadedFile("t.iso", ISO)},
    )
    assert response.status_code == 302
    iso = IsoImage.objects.get(file_name="taken.iso")
    job = wait_for_job(Job.objects.on(iso).filter(kind=iso_jobs.UPLOAD).get())
    assert job.status == JobStatus.FAILED
    iso.refresh_from_db()
    assert iso.state == "failed" and "Nothing was changed on xen1" in iso.error
    session = UploadSession.objects.get(iso=iso)
    assert session.local_path.exists()
    with transaction.atomic():
        operator_client.post(reverse("isos:remove", args=[iso.code]))
    assert not IsoImage.objects.filter(pk=iso.pk).exists()
    assert not session.local_path.exists()
    assert theirs.read_bytes() == b"someone else's"  # never the panel's to remove
