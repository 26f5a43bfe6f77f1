"""Evacuating a host (real worker, two simulated hosts that reach each other): every running domU
moves to another host with its disks, one migration job per domU under a parent job, then the
host is in maintenance; stopped domUs stay. A domU that fits nowhere stays, and then the host is
not put in maintenance."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.urls import reverse

from dom0.sim import SimHost
from domains import actions
from domains.models import Domain
from hosts.models import Host
from jobs.models import Job
from tests.domains.snapshot_support import disk
from tests.domains.support import act, create_via_form, job_log_text, poll, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 2**20


def sim(host: Host) -> SimHost:
    return SimHost(host.sim_dir)


def running(host: Host) -> list[str]:
    return sorted(sim(host).store.read()["domains"])


def pair(tmp_path: Path, **seed_b: object) -> tuple[Host, Host]:
    """Two simulated hosts in sibling state directories (their ssh finds each other by name),
    fully refreshed: the checks read their pools and readiness."""
    a = refreshed_host("xen-a", tmp_path, full=True)
    b = refreshed_host("xen-b", tmp_path, full=True, **seed_b)
    return a, b


def make_running(client, host: Host, name: str, memory_mb: int = 512) -> Domain:
    domain, job = create_via_form(client, host, name, disk_gib=1, memory_mb=memory_mb)
    assert job.status == "succeeded", job.error
    # A guest with PV drivers answers `xl shutdown`: the evacuation shuts domUs down cleanly.
    sim(host).set_pv_drivers(name, True)
    return domain


def evacuate(client, host: Host, **data: object) -> Job:
    url = reverse("domains:evacuate", args=[host.code])
    response = client.post(url, {**data, "confirm": "yes"})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Job.objects.filter(kind=actions.EVACUATE).latest("created_at")


def test_evacuation_moves_three_running_domus_and_puts_the_host_in_maintenance(
    worker, admin_client, admin_user, tmp_path
):
    a, b = pair(tmp_path)
    moving = [make_running(admin_client, a, name) for name in ("web1", "web2", "db1")]
    cold, job = create_via_form(admin_client, a, "cold", disk_gib=1)
    assert act(admin_client, cold, "destroy").status == "succeeded"
    poll(a)
    poll(b)

    # The confirmation lists what moves where and how: local zvols travel by storage migration.
    url = reverse("domains:evacuate", args=[a.code])
    page = admin_client.post(url, {"placement": "chosen", "targets": [str(b.code)]})
    assert page.status_code == 200
    text = page.content.decode()
    for domain in moving:
        assert f'data-domain="{domain.name}" data-target="xen-b" data-mode="storage"' in text
    assert "cold" in text and "they stay" in text
    assert not Job.objects.filter(kind=actions.EVACUATE).exists()  # nothing queued yet

    parent = evacuate(admin_client, a, placement="chosen", targets=[str(b.code)])
    parent = wait_for_job(parent, timeout=300)
    log = job_log_text(parent)
    assert parent.status == "succeeded", parent.error + log
    assert parent.message.startswith("3 of 3 moved"), parent.message
    assert "xen-a is in maintenance" in parent.message
    assert "Not running, they stay on xen-a: cold" in parent.message

    children = Job.objects.filter(kind=actions.MIGRATE).order_by("pk")
    assert children.count() == 3
    for child in children:
        assert child.status == "succeeded", child.error + job_log_text(child)
        assert child.params["parent"] == parent.pk and child.params["mode"] == "storage"
        assert child.params["downtime"] == "shutdown"
    for domain in moving:
        domain.refresh_from_db()
        assert domain.host_id == b.pk and domain.state == "running", (domain.name, domain.state)
    assert {"db1", "web1", "web2"} <= set(running(b))
    assert not {"db1", "web1", "web2"} & set(running(a))
    cold.refresh_from_db()
    assert cold.host_id == a.pk  # a stopped domU stays where it is

    a.refresh_from_db()
    assert a.maintenance and a.maintenance_by == admin_user and a.maintenance_since is not None
    # The parent shows on both hosts' pages; the host page says it is in maintenance.
    assert parent in Job.objects.on(a) and parent in Job.objects.on(b)
    page = admin_client.get(a.get_absolute_url()).content.decode()
    assert 'data-maintenance="yes"' in page and "xen-a is in maintenance since" in page
    assert parent.result["moved"] == ["db1", "web1", "web2"]


def test_a_domu_that_fits_nowhere_stays_and_the_host_is_not_put_in_maintenance(
    worker, admin_client, tmp_path
):
    # xen-b has 2 GiB free for domUs: the 3 GiB domU fits nowhere, the small one moves.
    a, b = pair(tmp_path, total_mem_mib=10240, dom0_mem_mib=8192)
    big = make_running(admin_client, a, "big", memory_mb=3072)
    small = make_running(admin_client, a, "small", memory_mb=512)
    poll(a)
    poll(b)

    parent = wait_for_job(evacuate(admin_client, a, placement="auto"), timeout=300)
    log = job_log_text(parent)
    assert parent.status == "failed", log
    assert (
        "1 of 2 moved" in parent.error
        and "Still on xen-a: big — no host passes the checks: xen-b: " in parent.error
    )
    assert "xen-a: it is not put in maintenance" in parent.error
    assert "Skip big" in log and "xen-b:" in log
    small.refresh_from_db()
    big.refresh_from_db()
    assert small.host_id == b.pk and big.host_id == a.pk and big.state == "running"
    a.refresh_from_db()
    assert not a.maintenance
    assert Job.objects.filter(kind=actions.MIGRATE).count() == 1


def test_cancelling_an_evacuation_cancels_the_moves_not_started_and_lets_the_running_one_end(
    worker, admin_client, tmp_path
):
    a, b = pair(tmp_path)
    domains = [make_running(admin_client, a, name) for name in ("slow1", "slow2")]
    for domain in domains:
        with open(disk(a, domain.volume.dataset), "r+b") as fh:
            fh.write(os.urandom(3 * MiB))  # something to send, slowly
    sim(a).set_stream_options(rate=MiB, progress_interval=0.2)
    poll(a)
    poll(b)

    parent = evacuate(admin_client, a, placement="auto")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        parent.refresh_from_db()
        moving = Job.objects.filter(kind=actions.MIGRATE, status="running").exists()
        if moving and "0 of 2 moved; Migrate " in parent.message:
            break
        time.sleep(0.05)
    assert parent.message.startswith("0 of 2 moved; Migrate "), parent.message
    first = Job.objects.get(kind=actions.MIGRATE, status="running")
    assert admin_client.post(reverse("jobs:cancel", args=[parent.code])).status_code == 302

    parent = wait_for_job(parent, timeout=60)
    assert parent.status == "cancelled", parent.error
    second = Job.objects.filter(kind=actions.MIGRATE).exclude(pk=first.pk).get()
    assert second.status == "cancelled"
    first = wait_for_job(first, timeout=60)
    assert first.status == "succeeded", first.error  # a move under way ends where it is safe
    log = job_log_text(parent)
    assert f"Cancelled before it started: job #{second.pk}" in log
    a.refresh_from_db()
    assert not a.maintenance
