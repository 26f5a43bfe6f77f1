"""The direct Dom0 -> Dom0 disk transfer (issue 14 item 2), its access set-up and cancelling a
transfer (real worker, two simulated hosts whose ssh reaches each other by name)."""

from __future__ import annotations

import base64
import os
import time

import pytest
from django.db import transaction

from dom0 import migration_access as files
from domains.migration.actions import queue_migration
from hosts.migration_access import queue_setup
from hosts.models import Host
from jobs.enqueue import request_cancel
from jobs.models import Job
from tests.domains.snapshot_support import disk
from tests.domains.support import create_via_form, job_log_text, refreshed_host
from tests.domains.test_migrate_live import assert_on_exactly, migrate, pair, running, sim
from tests.domains.test_migrate_storage import sha, write
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 2**20
PINNED = "ssh-ed25519 " + base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519" + bytes(36)).decode()


def set_up(source: Host, *targets: Host) -> Job:
    with transaction.atomic():
        job = queue_setup(source, list(targets), user=None)
    return wait_for_job(job, timeout=60)


def direct(host: Host) -> Host:
    Host.objects.filter(pk=host.pk).update(migration_transfer="direct")
    host.refresh_from_db()
    return host


def test_access_set_up_writes_key_authorized_keys_and_known_hosts_and_is_idempotent(
    worker, tmp_path
):
    a, b = pair(tmp_path)
    job = set_up(a, b)
    assert job.status == "succeeded", job.error + job_log_text(job)
    a.refresh_from_db()
    public = a.migration_public_key
    assert public.startswith("ssh-ed25519 AAAA") and public.endswith(" xenpanel-migrate@xen-a")
    assert sim(a).path(files.MIGRATE_KEY + ".pub").read_text().strip() == public
    assert sim(a).path(files.MIGRATE_KEY).stat().st_mode & 0o777 == 0o600
    auth = sim(b).path("/root/.ssh/authorized_keys")  # root's home, as getent passwd says
    line = files.authorized_key_line(public, a.address)
    assert line.endswith(f"restrict {public}")  # commands only (and only from a's address)
    assert auth.read_text().splitlines().count(line) == 1
    assert auth.stat().st_mode & 0o777 == 0o600
    assert sim(b).path("/root/.ssh").stat().st_mode & 0o777 == 0o700
    known = sim(a).path(files.MIGRATE_KNOWN_HOSTS).read_text()
    assert known == files.KNOWN_HOSTS_HEADER  # a simulated target has no host key to pin
    log = job_log_text(job)
    assert "ssh-keygen -q -t ed25519 -N  -C xenpanel-migrate@xen-a" in log or "ssh-keygen" in log
    assert "added to /root/.ssh/authorized_keys (mode 0600) on xen-b" in log
    assert "xen-b: simulated, trusted by name" in log
    assert job.result["trusted"] == ["xen-b"]

    # Once pinned, the target's host key goes into the known_hosts file; the rest stays.
    Host.objects.filter(pk=b.pk).update(host_key=PINNED)
    again = set_up(a, b)
    assert again.status == "succeeded", again.error + job_log_text(again)
    a.refresh_from_db()
    assert a.migration_public_key == public
    assert auth.read_text().splitlines().count(line) == 1
    assert sim(a).path(files.MIGRATE_KNOWN_HOSTS).read_text() == known + f"xen-b {PINNED}\n"
    log = job_log_text(again)
    assert "kept as it is" in log and "already there: /root/.ssh/authorized_keys" in log
    third = set_up(a, b)
    assert third.status == "succeeded"
    assert f"already there: xen-b {PINNED}" in job_log_text(third)
    assert sim(a).path(files.MIGRATE_KNOWN_HOSTS).read_text() == known + f"xen-b {PINNED}\n"


def test_access_set_up_refuses_a_target_never_connected_to(worker, tmp_path):
    a, _b = pair(tmp_path)
    stranger = Host.objects.create(name="xen-c", address="192.0.2.9", transport="ssh")
    with pytest.raises(ValueError, match="connect to it once first"):
        queue_setup(a, [stranger], user=None)


def test_storage_migration_over_the_direct_path_keeps_the_data(worker, admin_client, tmp_path):
    a, b = pair(tmp_path)
    domain, job = create_via_form(admin_client, a, "dx1", disk_gib=1)
    assert job.status == "succeeded", job.error
    direct(a)
    assert set_up(a, b).status == "succeeded"
    source_disk = disk(a, domain.volume.dataset)
    write(source_disk, 3 * MiB, os.urandom(2 * MiB))
    job = migrate(domain, b, domain.owner, mode="storage", downtime="pause")
    assert job.status == "succeeded", job.error + job_log_text(job)
    assert_on_exactly(domain, b, a)
    assert sha(disk(b, domain.volume.dataset)) == sha(source_disk)
    log = job_log_text(job)
    assert "directly from xen-a to xen-b over SSH with the panel's migration key" in log
    assert "| ssh -i /usr/local/etc/xenpanel/migrate_key -o BatchMode=yes" in log
    assert "UserKnownHostsFile=/usr/local/etc/xenpanel/migrate_known_hosts" in log
    assert "relayed" not in log


def test_direct_path_without_access_is_refused_and_nothing_moves(worker, admin_client, tmp_path):
    a, b = pair(tmp_path)
    domain, job = create_via_form(admin_client, a, "dx2", disk_gib=1)
    assert job.status == "succeeded", job.error
    direct(a)
    job = migrate(domain, b, domain.owner, mode="storage", downtime="pause")
    assert job.status == "failed"
    assert "migration access was never set up" in job.error and "Nothing moved" in job.error
    assert_on_exactly(domain, a, b)
    assert sim(b).run(["zfs", "list", domain.volume.dataset]).rc != 0
    assert not [
        s for s in sim(a).run(["zfs", "list", "-t", "snapshot"]).stdout.split() if "@migrate" in s
    ]


def test_direct_path_to_a_host_that_does_not_trust_the_key_is_refused(
    worker, admin_client, tmp_path
):
    a, b = pair(tmp_path)
    c = refreshed_host("xen-c", tmp_path)
    domain, job = create_via_form(admin_client, a, "dx3", disk_gib=1)
    assert job.status == "succeeded", job.error
    assert set_up(a, c).status == "succeeded"  # a's key exists, but only xen-c accepts it
    direct(a)
    job = migrate(domain, b, domain.owner, mode="storage", downtime="pause")
    assert job.status == "failed"
    assert "xen-b does not accept xen-a's migration key" in job.error, job.error
    assert "Nothing moved" in job.error
    assert_on_exactly(domain, a, b)


def _cancel_while_sending(domain, b):  # type: ignore[no-untyped-def]
    with transaction.atomic():
        job = queue_migration(domain, b, mode="storage", downtime="pause", user=domain.owner)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.message.startswith("Sending") or job.status not in ("queued", "running"):
            break
        time.sleep(0.05)
    assert job.message.startswith("Sending"), (job.status, job.message, job.error)
    time.sleep(0.5)
    request_cancel(job)
    return wait_for_job(job, timeout=60)


@pytest.mark.parametrize("path", ["relay", "direct"])
def test_cancel_during_the_transfer_leaves_the_domu_on_the_source(
    worker, admin_client, tmp_path, path
):
    a, b = pair(tmp_path)
    domain, job = create_via_form(admin_client, a, "dx3", disk_gib=1)
    assert job.status == "succeeded", job.error
    if path == "direct":
        direct(a)
        assert set_up(a, b).status == "succeeded"
    write(disk(a, domain.volume.dataset), 0, os.urandom(8 * MiB))
    sim(a).set_stream_options(rate=MiB, progress_interval=0.2)
    job = _cancel_while_sending(domain, b)
    assert job.status == "cancelled", job.error + job_log_text(job)
    log = job_log_text(job)
    assert "Cancelled: undone" in log and "dx3 runs on xen-a" in log, log
    # On the source only (running, or idle: the sim shows a domU blocked after a while).
    assert "dx3" in running(a) and "dx3" not in running(b)
    assert not any(n.startswith("dx3--") for n in running(a) + running(b))
    domain.refresh_from_db()
    assert domain.host_id == a.pk and domain.state in ("running", "blocked"), domain.state
    assert sim(b).run(["zfs", "list", domain.volume.dataset]).rc != 0
