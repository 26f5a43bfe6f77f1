"""A running domU end to end: ISO eject/insert (xl cd-eject / cd-insert), memory accounting."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from dom0.sim import SimHost
from jobs.models import Job
from tests.domains.support import act, create_via_form, put_iso, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def _cdrom_target(sim: SimHost, name: str) -> str:
    detail = json.loads(sim.run(["xl", "list", "-l", name]).stdout)[0]
    cdroms = [d for d in detail["config"]["disks"] if d.get("is_cdrom")]
    assert len(cdroms) == 1
    return cdroms[0].get("pdev_path", "")


def test_it_ejects_and_inserts_an_iso_on_a_running_domu(worker, admin_client, tmp_path):
    host = refreshed_host("xen-cd", tmp_path)
    sim = SimHost(host.sim_dir)
    first, second = put_iso(host), put_iso(host, "rescue.iso")
    domain, job = create_via_form(admin_client, host, "inst1", iso=str(first.code))
    assert job.status == "succeeded", job.error
    assert _cdrom_target(sim, "inst1") == first.path

    job = act(admin_client, domain, "cd_eject")
    assert job.status == "succeeded", job.error
    assert ["xl", "cd-eject", "inst1", "hdc"] in [s.argv for s in job.steps.all()]
    assert _cdrom_target(sim, "inst1") == ""

    response = admin_client.post(
        reverse("domains:cd_insert", args=[domain.code]), {"iso": str(second.code)}
    )
    assert response.status_code == 302
    job = wait_for_job(Job.objects.on(domain).latest("created_at"))
    assert job.status == "succeeded", job.error
    assert ["xl", "cd-insert", "inst1", "hdc", second.path] in [s.argv for s in job.steps.all()]
    assert _cdrom_target(sim, "inst1") == second.path


def test_it_moves_the_hosts_free_memory_with_the_domus_it_starts(worker, admin_client, tmp_path):
    host = refreshed_host("xen-mem", tmp_path)
    free_before = host.free_memory_mib
    domain, job = create_via_form(admin_client, host, "m1", memory_mb=2048)
    assert job.status == "succeeded", job.error
    host.refresh_from_db()
    assert host.domu_memory_mib == 2048
    assert host.free_memory_mib == free_before - 2048
    info = SimHost(host.sim_dir).run(["xl", "info", "free_memory"]).stdout
    assert host.free_memory_mib == int(info)  # what the hypervisor says too (`xl info NAME`)
