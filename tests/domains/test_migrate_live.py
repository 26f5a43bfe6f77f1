"""Live migration on shared storage (real worker, two simulated hosts that reach each other):
`xl migrate` moves the running domU; its record, config file and VNC display follow it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from dom0.sim import SimHost
from domains import cfg
from domains.migration.actions import queue_migration
from domains.models import Domain
from hosts.models import Host
from jobs.models import Job
from tests.domains.support import create_via_form, job_log_text, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def pair(tmp_path: Path, shared: str = "") -> tuple[Host, Host]:
    """Two simulated hosts in sibling state directories: their ssh finds each other by name."""
    a, b = refreshed_host("xen-a", tmp_path), refreshed_host("xen-b", tmp_path)
    if shared:
        Host.objects.filter(pk__in=[a.pk, b.pk]).update(shared_storage=shared)
        a.refresh_from_db()
        b.refresh_from_db()
    return a, b


def sim(host: Host) -> SimHost:
    return SimHost(host.sim_dir)


def running(host: Host) -> list[str]:
    return sorted(sim(host).store.read()["domains"])


def migrate(domain: Domain, target: Host, user: Any, **kw: Any) -> Job:
    with transaction.atomic():
        job = queue_migration(domain, target, user=user, **kw)
    return wait_for_job(job, timeout=90)


def assert_on_exactly(domain: Domain, host: Host, other: Host) -> None:
    """xl list on both sims agrees with the Domain row: the domU is on `host` only."""
    assert domain.name in running(host) and domain.name not in running(other)
    assert not any(n.startswith(f"{domain.name}--") for n in running(host) + running(other))
    domain.refresh_from_db()
    assert domain.host_id == host.pk
    assert domain.state == "running", domain.state


def test_live_migration_moves_the_running_domu_and_its_record(worker, admin_client, tmp_path):
    a, b = pair(tmp_path, shared="san1")
    domain, job = create_via_form(admin_client, a, "web1", disk_gib=1)
    assert job.status == "succeeded", job.error
    # Shared storage: the receiver reaches the same disk at the same path.
    assert sim(b).run(["zfs", "create", "-V", "1G", domain.volume.dataset]).rc == 0
    macs = sorted(domain.nics.values_list("mac", flat=True))
    display = domain.vnc_display
    text = a.config_dir + "/web1.cfg"

    job = migrate(domain, b, domain.owner, mode="live")
    assert job.status == "succeeded", job.error + job_log_text(job)
    assert_on_exactly(domain, b, a)
    assert domain.vnc_display == display
    assert sorted(domain.nics.values_list("mac", flat=True)) == macs
    assert domain.volume.host_id == b.pk
    assert [n["mac"] for n in sim(b).store.read()["domains"]["web1"]["nics"]] == macs
    assert sim(b).path(text).exists() and not sim(a).path(text).exists()
    log = job_log_text(job)
    assert "xl migrate -s ssh -i /usr/local/etc/xenpanel/migrate_key" in log
    assert "Migration successful." in log
    assert job.progress == 100
    # The job is seen from both hosts' pages.
    assert job in Job.objects.on(a) and job in Job.objects.on(b) and job in Job.objects.on(domain)


def test_live_migration_refuses_a_disk_missing_on_the_receiver(worker, admin_client, tmp_path):
    a, b = pair(tmp_path, shared="san1")
    domain, job = create_via_form(admin_client, a, "web2", disk_gib=1)
    assert job.status == "succeeded", job.error
    job = migrate(domain, b, domain.owner, mode="live")
    assert job.status == "failed"
    assert "not found on xen-b" in job.error and "still runs on xen-a" in job.error
    assert not any(s.argv and s.argv[:2] == ["xl", "migrate"] for s in job.steps.all())
    assert_on_exactly(domain, a, b)


def test_live_migration_refuses_a_vnc_display_taken_on_the_receiver(worker, admin_client, tmp_path):
    a, b = pair(tmp_path, shared="san1")
    domain, job = create_via_form(admin_client, a, "web3", disk_gib=1)
    assert job.status == "succeeded", job.error
    assert sim(b).run(["zfs", "create", "-V", "1G", domain.volume.dataset]).rc == 0
    Domain.objects.create(host=b, name="other", memory_mb=256, vnc_display=domain.vnc_display)
    job = migrate(domain, b, domain.owner, mode="live")
    assert job.status == "failed"
    assert f"VNC display :{domain.vnc_display}" in job.error and "Nothing moved" in job.error
    assert_on_exactly(domain, a, b)
    assert cfg.config_path(a.config_dir, "web3")
