"""Snapshots end to end (real worker, simulated host): take them running, paused and shut down,
list them, delete them (a clone's origin is refused), and keep N by schedule."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from dom0.sim import SimHost
from domains import records
from domains.models import Domain, DomainSnapshot, DomainState
from domains.snapshots import actions
from domains.snapshots.schedule import queue_due
from jobs.models import Job, JobStep
from tests.domains.snapshot_support import add_volume, argvs, host_snapshots, post, take
from tests.domains.support import act, create_via_form, job_log_text, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_snapshots_a_running_domu_in_one_atomic_command(worker, admin_client, tmp_path):
    host = refreshed_host("xen-snap", tmp_path)
    domain, job = create_via_form(admin_client, host, "s1")
    assert job.status == "succeeded", job.error
    boot = domain.volume.dataset
    data = add_volume(host, domain, "s1-data", domain.owner)

    snap, job = take(admin_client, domain, "first", "running")
    assert job.status == "succeeded", job.error
    assert ["zfs", "snapshot", f"{boot}@first", f"{data.dataset}@first"] in argvs(job)
    assert not any(a[:2] == ["xl", "pause"] for a in argvs(job))
    assert snap.state == DomainSnapshot.State.READY and snap.mode == "running"
    assert snap.datasets == [boot, data.dataset]
    version = records.current_version(domain)
    assert (snap.config_number, snap.config_text) == (version.number, version.text)
    assert snap.used_bytes is not None and snap.referenced_bytes is not None
    assert host_snapshots(host, boot) == ["first"] and host_snapshots(host, data.dataset) == [
        "first"
    ]

    # The card on the domU page and the snapshots page list it, with its config version.
    page = admin_client.get(domain.get_absolute_url()).content.decode()
    assert 'data-snapshot="first"' in page
    full = admin_client.get(reverse("domains:snapshots", args=[domain.code])).content.decode()
    assert 'data-snapshot="first"' in full and f"v{version.number}" in full

    # A name taken on one volume outside the panel: refused, and nothing half-made.
    assert SimHost(host.sim_dir).run(["zfs", "snapshot", f"{data.dataset}@second"]).rc == 0
    snap, job = take(admin_client, domain, "second", "running")
    assert job.status == "failed"
    assert "already exists" in job.error and data.dataset in job.error
    assert snap.state == DomainSnapshot.State.FAILED and snap.note.startswith("Not made")
    assert host_snapshots(host, boot) == ["first"]


def test_it_pauses_for_a_paused_snapshot_and_always_unpauses(worker, admin_client, tmp_path):
    host = refreshed_host("xen-pause", tmp_path)
    domain, job = create_via_form(admin_client, host, "p1")
    assert job.status == "succeeded", job.error
    boot = domain.volume.dataset

    snap, job = take(admin_client, domain, "calm", "paused")
    assert job.status == "succeeded", job.error
    steps = argvs(job)
    pause, shot, unpause = (
        steps.index(["xl", "pause", "p1"]),
        steps.index(["zfs", "snapshot", f"{boot}@calm"]),
        steps.index(["xl", "unpause", "p1"]),
    )
    assert pause < shot < unpause
    assert snap.mode == "paused"
    domain.refresh_from_db()
    assert domain.state == DomainState.RUNNING

    # zfs refuses while the domU is paused: it is unpaused all the same, and nothing is made.
    refusal = f"cannot create snapshot '{boot}@late': out of space"
    SimHost(host.sim_dir).set_faults(fail={"zfs snapshot": (1, refusal)})
    snap, job = take(admin_client, domain, "late", "paused")
    SimHost(host.sim_dir).set_faults(fail={})
    assert job.status == "failed"
    assert "no snapshot on any volume" in job.error
    assert ["xl", "unpause", "p1"] in argvs(job)
    assert snap.state == DomainSnapshot.State.FAILED
    domain.refresh_from_db()
    assert domain.state == DomainState.RUNNING, job_log_text(job)
    assert host_snapshots(host, boot) == ["calm"]


def test_it_takes_a_clean_snapshot_of_a_stopped_domu(worker, admin_client, tmp_path):
    host = refreshed_host("xen-stop", tmp_path)
    domain, job = create_via_form(admin_client, host, "c1")
    assert job.status == "succeeded", job.error

    # While it runs, "shut down" is not offered and is refused.
    before = Job.objects.on(domain).count()
    admin_client.post(
        reverse("domains:snapshot_create", args=[domain.code]), {"name": "x", "mode": "stopped"}
    )
    assert Job.objects.on(domain).count() == before
    assert not DomainSnapshot.objects.filter(domain=domain).exists()

    job = act(admin_client, domain, "destroy")  # no PV drivers: xl shutdown is refused
    assert job.status == "succeeded", job.error
    domain.refresh_from_db()
    assert not domain.is_present
    page = admin_client.get(domain.get_absolute_url()).content.decode()
    assert 'value="stopped"' in page and 'value="paused"' not in page

    snap, job = take(admin_client, domain, "clean", "stopped")
    assert job.status == "succeeded", job.error
    assert snap.mode == "stopped"
    assert not any(a[0] == "xl" and a[1] in ("pause", "unpause") for a in argvs(job))
    assert host_snapshots(host, domain.volume.dataset) == ["clean"]


def test_it_deletes_a_snapshot_but_not_the_origin_of_a_clone(worker, admin_client, tmp_path):
    host = refreshed_host("xen-del", tmp_path)
    domain, job = create_via_form(admin_client, host, "d1")
    assert job.status == "succeeded", job.error
    boot = domain.volume.dataset
    first, _ = take(admin_client, domain, "one", "running")
    second, _ = take(admin_client, domain, "two", "running")

    job = post(admin_client, "snapshot_delete", domain, first)
    assert job.status == "succeeded", job.error
    assert ["zfs", "destroy", f"{boot}@one"] in argvs(job)
    assert host_snapshots(host, boot) == ["two"]
    assert not DomainSnapshot.objects.filter(pk=first.pk).exists()

    clone = SimHost(host.sim_dir).run(["zfs", "clone", f"{boot}@two", "zroot/xen/d1-copy"])
    assert clone.rc == 0, clone.stderr
    job = post(admin_client, "snapshot_delete", domain, second)
    assert job.status == "failed"
    assert "snapshot has dependent clones" in job.error and "zroot/xen/d1-copy" in job.error
    assert "Nothing was destroyed" in job.error
    second.refresh_from_db()
    assert second.state == DomainSnapshot.State.READY
    assert host_snapshots(host, boot) == ["two"]


def test_it_keeps_n_scheduled_snapshots_and_never_touches_manual_ones(
    worker, admin_client, tmp_path
):
    host = refreshed_host("xen-keep", tmp_path)
    domain, job = create_via_form(admin_client, host, "k1")
    assert job.status == "succeeded", job.error
    boot = domain.volume.dataset
    manual, _ = take(admin_client, domain, "by-hand", "running")

    response = admin_client.post(
        reverse("domains:snapshot_schedule", args=[domain.code]),
        {"snapshot_keep_hourly": 2, "snapshot_keep_daily": 0},
    )
    assert response.status_code == 302
    domain.refresh_from_db()
    assert (domain.snapshot_keep_hourly, domain.snapshot_keep_daily) == (2, 0)

    # Beat: the first run queues one hourly snapshot, a second run in the same hour none.
    queued = queue_due()
    assert len(queued) == 1 and queued[0].startswith("k1@auto-hourly-")
    job = wait_for_job(Job.objects.on(domain).latest("created_at"))
    assert job.status == "succeeded", job.error
    assert queue_due() == []

    for n in (2, 3):  # two more hours' worth, as the job would be queued then
        _, job = actions.queue_snapshot(
            domain, f"auto-hourly-2025030{n}-1000", "running", schedule="hourly"
        )
        job = wait_for_job(job)
        assert job.status == "succeeded", job.error
    kept = list(DomainSnapshot.objects.filter(domain=domain, schedule="hourly"))
    assert sorted(s.name for s in kept) == [
        "auto-hourly-20250302-1000",
        "auto-hourly-20250303-1000",
    ]
    assert DomainSnapshot.objects.filter(pk=manual.pk).exists()
    assert sorted(host_snapshots(host, boot)) == sorted(["by-hand", *(s.name for s in kept)])
    assert "Retention" in job_log_text(job)


def test_it_refreshes_the_sizes_from_zfs_list(worker, admin_client, tmp_path):
    host = refreshed_host("xen-size", tmp_path)
    domain, job = create_via_form(admin_client, host, "z1")
    assert job.status == "succeeded", job.error
    snap, _ = take(admin_client, domain, "s", "running")
    DomainSnapshot.objects.filter(pk=snap.pk).update(used_bytes=None, referenced_bytes=None)

    job = post(admin_client, "snapshot_sizes", domain)
    assert job.status == "succeeded", job.error
    listing = [
        "zfs", "list", "-H", "-p", "-t", "snapshot", "-o", "name,creation,used,referenced",
        "-d", "1", domain.volume.dataset,
    ]  # fmt: skip
    assert listing in argvs(job)
    snap.refresh_from_db()
    assert snap.referenced_bytes is not None and snap.used_bytes is not None
    assert Domain.objects.get(pk=domain.pk).state == DomainState.RUNNING


def test_a_redelivered_snapshot_job_unpauses_what_its_first_run_paused(
    worker, admin_client, tmp_path
):
    """The worker died between `xl pause` and `xl unpause`: the next run unpauses first."""
    host = refreshed_host("xen-redo", tmp_path)
    domain, job = create_via_form(admin_client, host, "w1")
    assert job.status == "succeeded", job.error
    assert SimHost(host.sim_dir).run(["xl", "pause", "w1"]).rc == 0
    with transaction.atomic():
        snap, job = actions.queue_snapshot(domain, "again", "paused")
        JobStep.objects.create(job=job, seq=1, label="Pause w1", argv=["xl", "pause", "w1"])
        Job.objects.filter(pk=job.pk).update(attempt=1)
    job = wait_for_job(job)
    assert job.status == "succeeded", job_log_text(job)
    assert "An earlier run paused w1" in job_log_text(job)
    domain.refresh_from_db()
    assert domain.state == DomainState.RUNNING
    assert host_snapshots(host, domain.volume.dataset) == ["again"]


def test_a_snapshot_whose_job_never_ran_can_still_be_deleted(worker, admin_client, tmp_path):
    host = refreshed_host("xen-stale", tmp_path)
    domain, job = create_via_form(admin_client, host, "t1")
    assert job.status == "succeeded", job.error
    with transaction.atomic():
        snap, job = actions.queue_snapshot(domain, "never", "running")
        Job.objects.filter(pk=job.pk).update(status="cancelled", cancel_requested=True)
    job = wait_for_job(job)
    snap.refresh_from_db()
    assert snap.state == DomainSnapshot.State.CREATING  # its job was cancelled while queued

    job = post(admin_client, "snapshot_delete", domain, snap)
    assert job.status == "succeeded", job.error
    assert not DomainSnapshot.objects.filter(pk=snap.pk).exists()
