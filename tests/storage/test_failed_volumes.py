"""A volume create that fails leaves the row failed, saying what is on the host, with a one-click
Remove (and a Retry); nothing failed, and nothing whose job has ended, counts against a quota."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse

from accounts.models import Quota
from accounts.quotas import usage
from dom0.sim import SimHost
from dom0.sim import host as sim_host_module
from dom0.sim.result import SimUnreachable
from jobs.choices import JobStatus
from jobs.enqueue import request_cancel
from jobs.models import Job
from storage.jobs import volumes as volume_jobs
from storage.models import Volume
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

GIB = 2**30


def _create(client, host, name: str, size: str = "2G") -> tuple[Volume, Job]:
    response = client.post(
        reverse("storage:volume_new", args=[host.code]), {"name": name, "size": size}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    volume = Volume.objects.get(host=host, dataset=f"zroot/xen/{name}")
    job = Job.objects.on(volume).filter(kind=volume_jobs.CREATE).latest("created_at")
    return volume, wait_for_job(job)


def _page(client, volume: Volume) -> str:
    return client.get(volume.get_absolute_url()).content.decode()


def _zfs_names(host) -> set[str]:
    out = SimHost(host.sim_dir).run(["zfs", "list", "-H", "-o", "name", "-t", "volume"]).stdout
    return set(out.split())


def test_a_refused_create_says_nothing_is_on_the_host_and_removes_in_one_click(
    worker, operator_client, sim_host, operator
):
    sim = SimHost(sim_host.sim_dir)
    sim.set_faults(fail={"zfs create": (1, "cannot create 'zroot/xen/full0': out of space")})
    quota = Quota.objects.create(user=operator, disk_bytes=10 * GIB)
    volume, job = _create(operator_client, sim_host, "full0")
    assert job.status == JobStatus.FAILED
    assert job.result["volume_on_host"] == "none"
    assert (
        "Nothing of zroot/xen/full0 was made on xen1"
        in job.steps.get(label="Volume not made").output
    )
    volume.refresh_from_db()
    assert volume.state == Volume.State.FAILED
    assert usage(quota, "disk_bytes") == 0

    page = _page(operator_client, volume)
    assert 'data-on-host="none"' in page and "Nothing of this volume exists on xen1" in page
    assert "Everything on the disk is lost" not in page  # nothing to destroy
    assert reverse("storage:volume_remove", args=[volume.code]) in page
    assert reverse("storage:volume_retry", args=[volume.code]) in page
    host_page = operator_client.get(sim_host.get_absolute_url()).content.decode()
    assert "nothing on the host" in host_page

    response = operator_client.post(
        reverse("storage:volume_remove", args=[volume.code]), follow=True
    )
    assert "nothing of it was on xen1" in response.content.decode()
    assert not Volume.objects.filter(pk=volume.pk).exists()
    assert not Job.objects.filter(kind=volume_jobs.DESTROY).exists()  # the host is not touched


def test_a_failed_create_can_be_retried(worker, operator_client, sim_host):
    sim = SimHost(sim_host.sim_dir)
    sim.set_faults(fail={"zfs create": (1, "cannot create 'zroot/xen/again0': out of space")})
    volume, job = _create(operator_client, sim_host, "again0")
    assert job.status == JobStatus.FAILED
    sim.set_faults(fail={})
    response = operator_client.post(reverse("storage:volume_retry", args=[volume.code]))
    assert response.status_code == 302
    retry = wait_for_job(
        Job.objects.on(volume).filter(kind=volume_jobs.CREATE).latest("created_at")
    )
    assert retry.pk != job.pk and retry.status == JobStatus.SUCCEEDED, retry.error
    assert Volume.objects.get(pk=volume.pk).state == Volume.State.READY
    assert "zroot/xen/again0" in _zfs_names(sim_host)


def test_a_lost_answer_says_the_volume_may_exist_and_a_retry_adopts_it(
    worker, operator_client, sim_host, monkeypatch
):
    real = sim_host_module.TOOLS["zfs"]

    def zfs(host: Any, args: list[str], stdin: bytes | None) -> Any:
        result = real(host, args, stdin)
        if args[:1] == ["create"]:
            raise SimUnreachable(f"{host.hostname} stopped answering")
        return result

    monkeypatch.setitem(sim_host_module.TOOLS, "zfs", zfs)
    volume, job = _create(operator_client, sim_host, "maybe0")
    monkeypatch.undo()
    assert job.status == JobStatus.FAILED
    assert job.result["volume_on_host"] == "unknown"
    assert "may exist there" in job.steps.get(label="Volume state unknown").output
    page = _page(operator_client, volume)
    assert 'data-on-host="unknown"' in page and "may exist there" in page
    assert "may exist on the host" in page  # the state badge says so too

    operator_client.post(reverse("storage:volume_retry", args=[volume.code]))
    retry = wait_for_job(
        Job.objects.on(volume).filter(kind=volume_jobs.CREATE).latest("created_at")
    )
    assert retry.status == JobStatus.SUCCEEDED, retry.error
    assert retry.steps.get(label="Already created").output.startswith("The earlier attempt made")
    assert not [s for s in retry.steps.all() if s.argv and s.argv[:2] == ["zfs", "create"]]
    assert Volume.objects.get(pk=volume.pk).state == Volume.State.READY


def test_removing_a_volume_that_may_exist_says_so(operator_client, sim_host, operator):
    volume = Volume.objects.create(
        host=sim_host, dataset="zroot/xen/gone0", size_bytes=GIB, state="failed", owner=operator
    )
    response = operator_client.post(
        reverse("storage:volume_remove", args=[volume.code]), follow=True
    )
    body = response.content.decode()
    assert "It may still exist on xen1" in body and "scan" in body
    assert not Volume.objects.filter(pk=volume.pk).exists()


def test_only_failed_or_never_made_volumes_are_removed(operator_client, sim_host, operator):
    ready = Volume.objects.create(
        host=sim_host, dataset="zroot/xen/ok0", size_bytes=GIB, state="ready", owner=operator
    )
    response = operator_client.post(
        reverse("storage:volume_remove", args=[ready.code]), follow=True
    )
    assert "Only a failed volume" in response.content.decode()
    assert Volume.objects.filter(pk=ready.pk).exists()
    response = operator_client.post(reverse("storage:volume_retry", args=[ready.code]), follow=True)
    assert "Only a failed volume" in response.content.decode()
    assert Volume.objects.get(pk=ready.pk).state == "ready"


@pytest.mark.django_db  # no commit, so no worker takes the job before it is cancelled
def test_a_volume_whose_create_was_cancelled_while_queued_is_never_made(
    operator_client, sim_host, operator
):
    quota = Quota.objects.create(user=operator, disk_bytes=10 * GIB)
    with transaction.atomic():
        volume = Volume.objects.create(
            host=sim_host, dataset="zroot/xen/soon0", size_bytes=4 * GIB, owner=operator
        )
        job = volume_jobs.queue_create(volume, operator)
    assert usage(quota, "disk_bytes") == 4 * GIB  # queued: being made
    assert request_cancel(job)
    assert usage(quota, "disk_bytes") == 0  # its job ended: nothing holds the space
    page = _page(operator_client, volume)
    assert "Never made" in page and 'data-on-host="none"' in page
    assert "Everything on the disk is lost" not in page
    response = operator_client.post(
        reverse("storage:volume_destroy", args=[volume.code]), {"confirm": "soon0"}, follow=True
    )
    assert "was never made on xen1" in response.content.decode()
    assert not Job.objects.filter(kind=volume_jobs.DESTROY).exists()
    operator_client.post(reverse("storage:volume_remove", args=[volume.code]))
    assert not Volume.objects.filter(pk=volume.pk).exists()
