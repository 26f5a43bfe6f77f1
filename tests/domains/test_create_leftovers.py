"""A domU create whose volume step fails leaves no half-made volume: the row is gone (nothing was
made on the host) or marked failed (perhaps made), and the job's log says which. Quotas count
neither, nor a volume whose create job ended before making it."""

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
from domains import actions, cfg, records
from domains.models import Domain
from hosts.models import Host
from jobs.models import Job
from storage.models import Volume
from tests.domains.support import GIB, job_log_text, queued_create, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

PIB = 2**50


def _queue_create(host: Host, name: str, user: Any, size: int) -> tuple[Domain, Job]:
    """What the new-domU form makes for a new disk of `size` bytes, then its create job."""
    dataset = f"{host.volumes_parent}/{name}-disk0"
    with transaction.atomic():
        volume = Volume.objects.create(host=host, dataset=dataset, size_bytes=size, owner=user)
        domain = Domain.objects.create(
            host=host, name=name, owner=user, memory_mb=512, volume=volume, vnc_display=None
        )
        settings = cfg.Settings(name, 512, 1, volume.device_path, None, "bridge0")
        records.add_version(domain, cfg.render(cfg.build(settings)), author=user, note="Created")
        job = actions.queue(domain, actions.CREATE, f"Create {name}", params={"new_volume": True})
    return domain, job


def _zfs_names(host: Host) -> set[str]:
    out = SimHost(host.sim_dir).run(["zfs", "list", "-H", "-o", "name"]).stdout
    return set(out.split())


def _answer_lost_after_zfs_create(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host makes the volume, then stops answering before zfs's answer comes back."""
    real = sim_host_module.TOOLS["zfs"]

    def zfs(host: Any, args: list[str], stdin: bytes | None) -> Any:
        result = real(host, args, stdin)
        if args[:1] == ["create"]:
            host.set_faults(unreachable=True)
            raise SimUnreachable(f"{host.hostname} stopped answering")
        return result

    monkeypatch.setitem(sim_host_module.TOOLS, "zfs", zfs)


def test_a_size_refused_before_zfs_runs_leaves_no_volume(worker, admin_user, tmp_path):
    host = refreshed_host("xen21", tmp_path)
    domain, job = _queue_create(host, "huge", admin_user, 10 * PIB)
    job = wait_for_job(job)
    assert job.status == "failed"
    assert "at most 1P" in job.error and "Nothing was made on xen21" in job.error
    assert not [s for s in job.steps.all() if s.argv and s.argv[:2] == ["zfs", "create"]]
    assert job.steps.filter(label="Volume not made").exists()
    assert not Volume.objects.filter(dataset="zroot/xen/huge-disk0").exists()
    assert "zroot/xen/huge-disk0" not in _zfs_names(host)
    domain.refresh_from_db()
    assert domain.volume is None


def test_a_host_silent_before_zfs_create_leaves_no_volume(worker, admin_user, tmp_path):
    host = refreshed_host("xen22", tmp_path)
    sim = SimHost(host.sim_dir)
    sim.set_faults(unreachable=True)
    domain, job = queued_create(host, "quiet", admin_user)
    job = wait_for_job(job)
    sim.set_faults(unreachable=False)
    assert job.status == "failed" and "does not answer" in job.error
    note = job.steps.get(label="Volume not made")
    assert (
        "before `zfs create`" in note.output and "nothing of zroot/xen/quiet-disk0" in note.output
    )
    assert not Volume.objects.filter(dataset="zroot/xen/quiet-disk0").exists()


def test_a_lost_answer_to_zfs_create_marks_the_volume_failed_then_a_retry_adopts_it(
    worker, admin_user, admin_client, tmp_path, monkeypatch
):
    host = refreshed_host("xen23", tmp_path)
    sim = SimHost(host.sim_dir)
    _answer_lost_after_zfs_create(monkeypatch)
    domain, job = queued_create(host, "lost", admin_user)
    job = wait_for_job(job)
    monkeypatch.undo()
    assert job.status == "failed" and "stopped answering" in job.error
    volume = Volume.objects.get(dataset="zroot/xen/lost-disk0")
    assert volume.state == Volume.State.FAILED
    assert job.result["volume_on_host"] == "unknown"
    log = job_log_text(job)
    assert "may or may not exist there" in log and "marked the volume failed" in log
    # The job names the volume, so its page shows what happened and what may be on the host.
    assert Job.objects.on(volume).filter(pk=job.pk).exists()
    page = admin_client.get(volume.get_absolute_url()).content.decode()
    assert 'data-on-host="unknown"' in page and "may exist there" in page
    assert "the domU lost uses it" in page  # Remove waits for the domU's own retry or delete
    # A failed volume holds nothing of the owner's disk quota.
    quota = Quota.objects.create(user=admin_user, disk_bytes=100 * GIB)
    assert usage(quota, "disk_bytes") == 0

    # The host answers again; the volume was made. Running the create again adopts it.
    sim.set_faults(unreachable=False)
    assert "zroot/xen/lost-disk0" in _zfs_names(host)
    with transaction.atomic():
        again = actions.queue(domain, actions.CREATE, "Create lost", params={"new_volume": True})
    again = wait_for_job(again)
    assert again.status == "succeeded", again.error
    assert again.steps.get(label="Volume exists").output.startswith("an earlier attempt made")
    assert not [s for s in again.steps.all() if s.argv and s.argv[:2] == ["zfs", "create"]]
    assert Volume.objects.get(pk=volume.pk).state == Volume.State.READY
    assert usage(quota, "disk_bytes") == 20 * GIB


def test_a_lost_answer_on_a_host_that_answers_again_settles_by_asking_it(
    worker, admin_user, tmp_path, monkeypatch
):
    host = refreshed_host("xen24", tmp_path)
    real = sim_host_module.TOOLS["zfs"]

    def zfs(h: Any, args: list[str], stdin: bytes | None) -> Any:
        result = real(h, args, stdin)
        if args[:1] == ["create"]:
            raise SimUnreachable("the answer was lost")  # the next command gets through
        return result

    monkeypatch.setitem(sim_host_module.TOOLS, "zfs", zfs)
    domain, job = queued_create(host, "asked", admin_user)
    job = wait_for_job(job)
    monkeypatch.undo()
    assert job.status == "failed"
    assert "exists on xen24; it stays in the panel" in job.steps.get(label="Volume made").output
    assert Volume.objects.get(dataset="zroot/xen/asked-disk0").state == Volume.State.READY


def test_a_create_cancelled_while_queued_holds_no_quota_and_its_volume_says_never_made(
    worker, admin_user, admin_client, tmp_path
):
    host = refreshed_host("xen25", tmp_path)
    quota = Quota.objects.create(user=admin_user, disk_bytes=100 * GIB, domus=5)
    domain, job = queued_create(host, "halted", admin_user)  # queued: being made, it counts
    assert usage(quota, "disk_bytes") == 20 * GIB and usage(quota, "domus") == 1
    wait_for_job(job)
    domain, job = queued_create(host, "stopped", admin_user, cancel=True)
    assert wait_for_job(job).status == "cancelled"
    # Only the first (made) counts: the second's create ended before anything was made.
    assert usage(quota, "disk_bytes") == 20 * GIB and usage(quota, "domus") == 1
    volume = domain.volume
    page = admin_client.get(volume.get_absolute_url()).content.decode()
    assert 'data-on-host="none"' in page and "Never made" in page
    assert "Everything on the disk is lost" not in page and "zfs destroy" not in page
    response = admin_client.post(
        reverse("storage:volume_destroy", args=[volume.code]), {"confirm": volume.name}
    )
    assert response.status_code == 302
    assert not Job.objects.filter(kind="volume.destroy").exists()
