"""Each failure path: checked on the form before anything runs, or reported by the job.

A failed job changes nothing it should not: the new volume stays usable, and a failed shutdown
keeps the domU marked as one that should run.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from dom0.sim import SimHost
from domains.models import Domain
from jobs.models import Job
from storage.models import IsoImage, Volume
from tests.domains.support import act, create_via_form, form_data, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def _field_errors(client, host, name, **overrides) -> dict[str, list[str]]:
    response = client.post(reverse("domains:new"), form_data(host, name, **overrides))
    assert response.status_code == 200
    return {k: [str(e) for e in v] for k, v in response.context["form"].errors.items()}


def test_it_refuses_on_the_form_what_the_host_cannot_do(worker, admin_client, tmp_path):
    host = refreshed_host("xen1", tmp_path)  # 32 GiB, 8 GiB Dom0, 8 CPUs
    sim = SimHost(host.sim_dir)
    # A domU made outside the panel: its name is taken on the host (seen by the last xl list).
    cfg = sim.path("/root/other.cfg")
    cfg.write_text('type = "hvm"\nname = "other"\nmemory = 512\n')
    assert sim.run(["xl", "create", "/root/other.cfg"]).rc == 0
    refreshed = refreshed_host("xen1", tmp_path)
    busy, job = create_via_form(admin_client, host, "busy1")
    assert job.status == "succeeded", job.error
    refreshed.refresh_from_db()  # the create moved the host's free memory by busy1's 1024 MiB
    free = refreshed.facts["free_memory_mib"]
    bad_iso = IsoImage.objects.create(
        host=host, file_name="half.iso", source=IsoImage.Source.URL, state=IsoImage.State.FETCHING
    )

    errors = _field_errors(
        admin_client,
        refreshed,
        "other",
        memory_mb=free + 1,
        vcpus=9,
        disk="existing",
        volume=str(busy.volume.code),
        iso=str(bad_iso.code),
        bridge="br idge",
        vnc_listen="::1",
        vnc_password="far-too-long",
    )
    assert "already exists on xen1" in errors["name"][0]
    assert f"Only {free} MiB" in errors["memory_mb"][0]
    assert "at most 8" in errors["vcpus"][0]
    assert "is the disk of busy1" in errors["volume"][0]
    assert "not ready" in errors["iso"][0]
    assert set(errors) >= {"bridge", "vnc_listen", "vnc_password"}
    assert not Domain.objects.filter(name="other").exists()
    assert Job.objects.filter(kind="domain.create").count() == 1

    # The live preview shows the same problems while typing.
    preview = admin_client.post(
        reverse("domains:preview"), form_data(host, "other", memory_mb=free + 1)
    ).content.decode()
    assert "already exists on xen1" in preview and f"Only {free} MiB" in preview
    assert "name = &quot;other&quot;" in preview


def test_it_reports_out_of_memory_from_xl_create_and_keeps_the_new_volume(
    worker, admin_client, tmp_path
):
    host = refreshed_host("xen2", tmp_path)
    # Memory used behind the panel's back since the last refresh: the form cannot know.
    sim = SimHost(host.sim_dir)
    sim.path("/root/hog.cfg").write_text('type = "hvm"\nname = "hog"\nmemory = 23000\n')
    assert sim.run(["xl", "create", "/root/hog.cfg"]).rc == 0

    domain, job = create_via_form(admin_client, host, "big", memory_mb=4096)
    assert job.status == "failed"
    assert "xl create" in job.error and "not have enough free memory" in job.error
    failed = job.steps.get(status="failed")
    assert failed.argv[:2] == ["xl", "create"] and "Cannot allocate memory" in failed.output
    # The volume the job made is listed and reusable.
    volume = Volume.objects.get(dataset="zroot/xen/big-disk0")
    assert volume.state == Volume.State.READY
    domain.refresh_from_db()
    assert domain.state == "not_running" and not domain.should_run
    page = admin_client.get(domain.get_absolute_url()).content.decode()
    assert "not have enough free memory" in page and ">Start<" in page


def test_it_reports_a_name_taken_on_the_host_since_the_last_refresh(worker, admin_client, tmp_path):
    host = refreshed_host("xen3", tmp_path)
    sim = SimHost(host.sim_dir)
    sim.path("/root/dup.cfg").write_text('type = "hvm"\nname = "dup"\nmemory = 256\n')
    assert sim.run(["xl", "create", "/root/dup.cfg"]).rc == 0
    domain, job = create_via_form(admin_client, host, "dup")
    assert job.status == "failed"
    assert "xl create" in job.error and "A domain named 'dup' already exists" in job.error


def test_it_fails_clearly_when_the_host_stops_answering_mid_job(worker, admin_client, tmp_path):
    host = refreshed_host("xen4", tmp_path)
    sim = SimHost(host.sim_dir)
    sim.set_faults(latency_ms=400)
    response = admin_client.post(reverse("domains:new"), form_data(host, "flaky"))
    assert response.status_code == 302
    domain = Domain.objects.get(name="flaky")
    job = Job.objects.on(domain).get()
    # Wait until the volume exists, then pull the plug.
    import time

    deadline = time.monotonic() + 20
    while not Volume.objects.filter(pk=domain.volume_id, state="ready").exists():
        assert time.monotonic() < deadline, "the volume step never finished"
        time.sleep(0.05)
    sim.set_faults(unreachable=True, latency_ms=0)
    job = wait_for_job(job)
    assert job.status == "failed"
    assert "stopped answering" in job.error or "does not answer" in job.error
    assert Volume.objects.get(pk=domain.volume_id).state == Volume.State.READY
    sim.set_faults(unreachable=False)


def test_it_drops_the_volume_row_when_zfs_create_fails(worker, admin_client, tmp_path):
    host = refreshed_host("xen5", tmp_path)
    SimHost(host.sim_dir).set_faults(
        fail={"zfs create": (1, "cannot create 'zroot/xen/v': out of space")}
    )
    domain, job = create_via_form(admin_client, host, "v")
    assert job.status == "failed"
    assert "zfs create" in job.error and "no room" in job.error
    assert not Volume.objects.filter(dataset="zroot/xen/v-disk0").exists()
    domain.refresh_from_db()
    assert domain.volume is None


def test_it_keeps_should_run_when_the_shutdown_fails(worker, admin_client, tmp_path):
    host = refreshed_host("xen6", tmp_path)
    domain, job = create_via_form(admin_client, host, "stubborn", autostart="on")
    assert job.status == "succeeded", job.error
    # The guest has no PV drivers yet, so it cannot be asked to shut down.
    assert act(admin_client, domain, "shutdown").status == "failed"
    domain.refresh_from_db()
    assert domain.should_run

    SimHost(host.sim_dir).set_pv_drivers("stubborn", True)
    assert act(admin_client, domain, "shutdown").status == "succeeded"
    domain.refresh_from_db()
    assert not domain.should_run
