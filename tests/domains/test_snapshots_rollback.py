"""Rolling a domU back to a snapshot end to end: disks and config come back, later snapshots go,
a running domU is refused (in the view and again in the job), a half-way failure is named."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dom0.sim import SimHost
from domains import cfg, records
from domains.models import Domain, DomainSnapshot
from domains.snapshots import actions
from jobs.models import Job
from tests.domains.snapshot_support import add_volume, argvs, disk, host_snapshots, post, take
from tests.domains.support import act, create_via_form, job_log_text, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def _stopped_domu_with_two_disks(client, tmp_path, name: str):
    host = refreshed_host(f"xen-{name}", tmp_path)
    domain, job = create_via_form(client, host, name)
    assert job.status == "succeeded", job.error
    data = add_volume(host, domain, f"{name}-data", domain.owner)
    job = act(client, domain, "destroy")  # the simulated guest has no PV drivers to shut down
    assert job.status == "succeeded", job.error
    domain.refresh_from_db()
    return host, domain, [domain.volume.dataset, data.dataset]


def _write(host, datasets, text: str) -> None:
    for dataset in datasets:
        disk(host, dataset).write_text(f"{text} on {dataset}")


def _edit_memory(domain: Domain, memory: int) -> None:
    text = records.current_text(domain).replace("memory = 1024", f"memory = {memory}")
    assert f"memory = {memory}" in text
    records.add_version(domain, text, note="Edited")


def test_it_rolls_the_disks_and_the_config_back_and_drops_later_snapshots(
    worker, admin_client, tmp_path
):
    host, domain, datasets = _stopped_domu_with_two_disks(admin_client, tmp_path, "r1")
    _write(host, datasets, "before")
    first, job = take(admin_client, domain, "first", "stopped")
    assert job.status == "succeeded", job.error
    _write(host, datasets, "after")
    _edit_memory(domain, 2048)
    later, job = take(admin_client, domain, "later", "stopped")
    assert job.status == "succeeded", job.error

    # The confirmation names what -r destroys; without the typed name nothing is queued.
    page = reverse("domains:snapshots", args=[domain.code])
    body = admin_client.get(page, {"rollback": str(first.code)}).content.decode()
    assert "later snapshots are destroyed" in body and "<li>later" in body
    before = Job.objects.on(domain).count()
    url = reverse("domains:snapshot_rollback", args=[domain.code, first.code])
    assert admin_client.post(url, {"confirm": "nope"}).status_code == 302
    assert Job.objects.on(domain).count() == before

    job = post(admin_client, "snapshot_rollback", domain, first, confirm="first")
    assert job.status == "succeeded", job_log_text(job)
    for dataset in datasets:
        assert ["zfs", "rollback", "-r", f"{dataset}@first"] in argvs(job)
        assert disk(host, dataset).read_text() == f"before on {dataset}"
        assert host_snapshots(host, dataset) == ["first"]
    assert "each volume is rolled back on its own" in job_log_text(job)
    assert not DomainSnapshot.objects.filter(pk=later.pk).exists()
    assert DomainSnapshot.objects.filter(pk=first.pk, state="ready").exists()

    version = records.current_version(domain)
    assert version.text == first.config_text and version.note == "Rolled back to snapshot first"
    domain.refresh_from_db()
    assert domain.memory_mb == 1024
    config = SimHost(host.sim_dir).local(cfg.config_path(host.config_dir, domain.name))
    assert config.read_text() == first.config_text
    # The history diff still works between the rolled-back and the edited version.
    diff = admin_client.get(
        reverse("domains:history", args=[domain.code]),
        {"a": version.number - 1, "b": version.number},
    )
    assert "memory = 2048" in diff.content.decode()


def test_it_refuses_to_roll_back_a_running_domu(worker, admin_client, tmp_path):
    host = refreshed_host("xen-busy", tmp_path)
    domain, job = create_via_form(admin_client, host, "b1")
    assert job.status == "succeeded", job.error
    snap, job = take(admin_client, domain, "s", "running")
    assert job.status == "succeeded", job.error
    domain.refresh_from_db()
    assert domain.is_present

    before = Job.objects.on(domain).count()
    url = reverse("domains:snapshot_rollback", args=[domain.code, snap.code])
    response = admin_client.post(url, {"confirm": "s"}, follow=True)
    assert Job.objects.on(domain).count() == before
    body = response.content.decode()
    assert "Shut it down first" in body and "Shut down b1" in body

    # The job checks `xl list` itself: a page that thought it stopped is not enough.
    Domain.objects.filter(pk=domain.pk).update(state="not_running")
    job = wait_for_job(actions.queue_rollback(domain, snap, user=None))
    assert job.status == "failed"
    assert "b1 is running" in job.error and "nothing was rolled back" in job.error
    assert not any(a[:2] == ["zfs", "rollback"] for a in argvs(job))


def test_it_says_which_volumes_were_rolled_back_when_one_fails(worker, admin_client, tmp_path):
    host, domain, datasets = _stopped_domu_with_two_disks(admin_client, tmp_path, "h1")
    _write(host, datasets, "before")
    snap, job = take(admin_client, domain, "s", "stopped")
    assert job.status == "succeeded", job.error
    _write(host, datasets, "after")
    _edit_memory(domain, 4096)
    versions = domain.versions.count()

    refusal = f"cannot open '{datasets[1]}@s': dataset is busy"
    SimHost(host.sim_dir).set_faults(fail={f"zfs rollback -r {datasets[1]}@s": (1, refusal)})
    job = post(admin_client, "snapshot_rollback", domain, snap, confirm="s")
    SimHost(host.sim_dir).set_faults(fail={})
    assert job.status == "failed"
    assert f"Already rolled back: {datasets[0]}" in job.error
    assert f"not rolled back: {datasets[1]}" in job.error
    assert disk(host, datasets[0]).read_text() == f"before on {datasets[0]}"
    assert disk(host, datasets[1]).read_text() == f"after on {datasets[1]}"
    assert domain.versions.count() == versions  # the config is left as it was


def test_it_says_when_the_config_of_that_moment_names_a_volume_that_is_gone(
    worker, admin_client, tmp_path
):
    host, domain, datasets = _stopped_domu_with_two_disks(admin_client, tmp_path, "g1")
    snap, job = take(admin_client, domain, "s", "stopped")
    assert job.status == "succeeded", job.error
    gone = f"{host.volumes_parent}/g1-old"
    text = snap.config_text.replace(
        "disk = [\n",
        f"disk = [\n    'format=raw, vdev=xvdc, access=rw, target=/dev/zvol/{gone}',\n",
    )
    assert gone in text
    DomainSnapshot.objects.filter(pk=snap.pk).update(config_text=text)

    job = post(admin_client, "snapshot_rollback", domain, snap, confirm="s")
    assert job.status == "succeeded", job_log_text(job)
    assert "no longer exist" in job.message or "no longer exist" in job_log_text(job)
    assert gone in job_log_text(job)
