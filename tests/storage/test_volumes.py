"""ZFS volumes: create, the exists and busy cases, destroy, scan and import — through the views,
a real worker and the simulated Dom0."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from dom0.sim import SimHost
from domains.models import Domain
from hosts.models import Host
from jobs.choices import JobStatus
from jobs.models import Job
from storage.jobs import volumes as volume_jobs
from storage.models import Volume
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

DOMU_CFG = """\
builder = "hvm"
name = "{name}"
memory = 512
vcpus = 1
vif = [ 'bridge=bridge0' ]
disk = [ '{disk},raw,hda,rw' ]
"""


def _last_job(host: Host, kind: str) -> Job:
    return wait_for_job(Job.objects.on(host).filter(kind=kind).latest("created_at"), timeout=30)


def _create(client, host: Host, name: str, size: str = "2G", sparse: bool = False) -> Job:
    data = {"name": name, "size": size}
    if sparse:
        data["sparse"] = "on"
    response = client.post(reverse("storage:volume_new", args=[host.code]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return _last_job(host, volume_jobs.CREATE)


def _zfs_names(host: Host) -> set[str]:
    out = SimHost(host.sim_dir).run(["zfs", "list", "-H", "-o", "name", "-t", "volume"]).stdout
    return set(out.split())


def test_it_creates_a_volume_with_zfs_create(worker, operator_client, sim_host, operator):
    job = _create(operator_client, sim_host, "freebsd-disk0", "20G")
    assert job.status == JobStatus.SUCCEEDED, job.error
    argv = [s.argv for s in job.steps.all() if s.argv and s.argv[1] == "create"]
    assert argv == [["zfs", "create", "-V", "20G", "-o", "volmode=dev", "zroot/xen/freebsd-disk0"]]
    assert "zroot/xen/freebsd-disk0" in _zfs_names(sim_host)
    volume = Volume.objects.get(dataset="zroot/xen/freebsd-disk0")
    assert (volume.state, volume.size_bytes, volume.owner) == ("ready", 20 * 2**30, operator)
    assert volume.used_bytes and volume.used_bytes >= 20 * 2**30  # thick: reserved up front
    page = operator_client.get(sim_host.get_absolute_url()).content.decode()
    assert 'data-copy="/dev/zvol/zroot/xen/freebsd-disk0"' in page
    assert ">20 GiB<" in page


def test_it_creates_a_sparse_volume(worker, operator_client, sim_host):
    job = _create(operator_client, sim_host, "thin0", "1.5T", sparse=True)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert any(s.argv and "-s" in s.argv for s in job.steps.all())
    volume = Volume.objects.get(dataset="zroot/xen/thin0")
    assert volume.sparse and volume.size_bytes == 1536 * 2**30
    assert volume.used_bytes < 2**20


def test_it_reports_a_dataset_that_already_exists(worker, operator_client, sim_host):
    job = _create(operator_client, sim_host, "legacy0")
    assert job.status == JobStatus.FAILED
    assert "'zroot/xen/legacy0' already exists" in job.error
    assert "import" in job.error
    assert not Volume.objects.filter(dataset="zroot/xen/legacy0").exists()


def test_it_refuses_bad_names_and_sizes_on_the_form(operator_client, sim_host):
    response = operator_client.post(
        reverse("storage:volume_new", args=[sim_host.code]), {"name": "a/b", "size": "20Q"}
    )
    assert response.status_code == 200
    page = response.content.decode().lower()
    assert "may contain only letters" in page and "invalid size suffix" in page
    assert not Job.objects.exists()


def test_it_finishes_a_redelivered_create_that_already_ran(worker, admin_user, sim_host):
    SimHost(sim_host.sim_dir).run(
        ["zfs", "create", "-V", "1G", "-o", "volmode=dev", "zroot/xen/r0"]
    )
    with transaction.atomic():
        volume = Volume.objects.create(host=sim_host, dataset="zroot/xen/r0", size_bytes=2**30)
        job = volume_jobs.queue_create(volume, admin_user)
        # As if a worker had claimed it once and died after zfs create.
        Job.objects.filter(pk=job.pk).update(attempt=1)
    job = wait_for_job(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert not any(s.argv and s.argv[1] == "create" for s in job.steps.all())
    assert Volume.objects.get(pk=volume.pk).state == "ready"


def test_it_destroys_a_volume_after_confirmation(worker, operator_client, sim_host):
    assert _create(operator_client, sim_host, "tmp0").status == JobStatus.SUCCEEDED
    volume = Volume.objects.get(dataset="zroot/xen/tmp0")
    url = reverse("storage:volume_destroy", args=[volume.code])
    operator_client.post(url, {"confirm": "wrong"})
    assert not Job.objects.filter(kind=volume_jobs.DESTROY).exists()
    assert operator_client.post(url, {"confirm": "tmp0"}).status_code == 302
    job = _last_job(sim_host, volume_jobs.DESTROY)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert ["zfs", "destroy", "-r", "zroot/xen/tmp0"] in [s.argv for s in job.steps.all()]
    assert "zroot/xen/tmp0" not in _zfs_names(sim_host)
    assert not Volume.objects.filter(pk=volume.pk).exists()


def test_it_retries_a_busy_volume_then_reports_it(worker, operator_client, sim_host, settings):
    settings.VOLUME_BUSY_RETRIES = 3
    assert _create(operator_client, sim_host, "busy0").status == JobStatus.SUCCEEDED
    volume = Volume.objects.get(dataset="zroot/xen/busy0")
    sim = SimHost(sim_host.sim_dir)
    cfg = "/usr/local/etc/xen/busy.cfg"
    sim.path(cfg).write_text(DOMU_CFG.format(name="busy", disk=volume.device_path))
    assert sim.run(["xl", "create", cfg]).rc == 0
    operator_client.post(
        reverse("storage:volume_destroy", args=[volume.code]), {"confirm": "busy0"}
    )
    job = _last_job(sim_host, volume_jobs.DESTROY)
    assert job.status == JobStatus.FAILED
    assert "still busy after 3 tries" in job.error and "stop that domU" in job.error
    tries = [s for s in job.steps.all() if s.argv and s.argv[:2] == ["zfs", "destroy"]]
    assert len(tries) == 3 and all("dataset is busy" in s.output for s in tries)
    assert Volume.objects.get(pk=volume.pk).state == "ready"
    # Once the domU is gone, the same action works.
    assert sim.run(["xl", "destroy", "busy"]).rc == 0
    operator_client.post(
        reverse("storage:volume_destroy", args=[volume.code]), {"confirm": "busy0"}
    )
    assert _last_job(sim_host, volume_jobs.DESTROY).status == JobStatus.SUCCEEDED


def test_it_scans_and_imports_a_volume_made_outside_the_panel(worker, admin_client, sim_host):
    admin_client.post(reverse("storage:volumes_scan", args=[sim_host.code]))
    scan = _last_job(sim_host, volume_jobs.SCAN)
    assert scan.status == JobStatus.SUCCEEDED, scan.error
    assert [row["dataset"] for row in scan.result["unmanaged"]] == ["zroot/xen/legacy0"]
    page = admin_client.get(sim_host.get_absolute_url()).content.decode()
    assert 'data-unmanaged="zroot/xen/legacy0"' in page
    admin_client.post(
        reverse("storage:volume_import", args=[sim_host.code]), {"dataset": "zroot/xen/legacy0"}
    )
    job = _last_job(sim_host, volume_jobs.IMPORT)
    assert job.status == JobStatus.SUCCEEDED, job.error
    volume = Volume.objects.get(dataset="zroot/xen/legacy0")
    assert volume.imported and volume.size_bytes == 10 * 2**30 and volume.state == "ready"
    page = admin_client.get(sim_host.get_absolute_url()).content.decode()
    assert 'data-unmanaged="zroot/xen/legacy0"' not in page
    assert 'data-volume="zroot/xen/legacy0"' in page


def test_it_refuses_to_destroy_a_volume_a_domu_config_uses(operator_client, operator, sim_host):
    volume = Volume.objects.create(
        host=sim_host, dataset="zroot/xen/used0", size_bytes=2**30, state="ready", owner=operator
    )
    # The domains app answers this question (its finder is registered with storage.users).
    Domain.objects.create(
        host=sim_host, name="web1", memory_mb=512, vcpus=1, volume=volume, owner=operator
    )
    response = operator_client.post(
        reverse("storage:volume_destroy", args=[volume.code]), {"confirm": "used0"}, follow=True
    )
    assert "cannot be destroyed: the domU web1 uses it" in response.content.decode()
    assert not Job.objects.exists()
    assert Volume.objects.filter(pk=volume.pk).exists()
