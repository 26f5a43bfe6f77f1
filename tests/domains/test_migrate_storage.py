"""Storage migration (real worker, two simulated hosts): a running domU's 1 GiB volume travels
with zfs send/recv, data written before and after the full send arrives intact, the domU starts
on the target with the same config, and the source copies stay until the clean-up destroys them."""

from __future__ import annotations

import hashlib
import os
import time

import pytest
from django.db import transaction

from domains import records
from domains.migration.actions import queue_cleanup, superseded_volumes
from domains.models import Domain
from jobs.models import Job
from storage.models import Volume
from tests.domains.snapshot_support import disk
from tests.domains.support import create_via_form, job_log_text
from tests.domains.test_migrate_live import assert_on_exactly, migrate, pair, running, sim
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 2**20


def sha(path) -> str:  # type: ignore[no-untyped-def]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(16 * MiB):
            digest.update(block)
    return digest.hexdigest()


def write(path, offset: int, data: bytes) -> None:  # type: ignore[no-untyped-def]
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def test_storage_migration_carries_data_written_before_and_after_the_full_send(
    worker, admin_client, tmp_path
):
    a, b = pair(tmp_path)
    domain, job = create_via_form(admin_client, a, "db1", disk_gib=1)
    assert job.status == "succeeded", job.error
    dataset = domain.volume.dataset
    source_disk = disk(a, dataset)
    write(source_disk, 0, os.urandom(4 * MiB))  # before the first snapshot
    text = records.current_text(domain)
    # Slow the full send down so the test can write while it runs (after the first snapshot).
    sim(a).set_stream_options(rate=2 * MiB, progress_interval=0.2)

    from domains.migration.actions import queue_migration

    with transaction.atomic():
        job = queue_migration(domain, b, mode="storage", downtime="pause", user=domain.owner)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.message.startswith("Sending") or job.status not in ("queued", "running"):
            break
        time.sleep(0.02)
    assert job.message.startswith("Sending"), (job.status, job.message)
    late = os.urandom(300_000)
    write(source_disk, 700 * MiB, late)  # after the snapshot: only the incremental carries it
    sim(a).set_stream_options(rate=0)
    job = wait_for_job(job, timeout=120)
    assert job.status == "succeeded", job.error + job_log_text(job)

    assert_on_exactly(domain, b, a)
    target_disk = disk(b, dataset)
    assert sha(target_disk) == sha(source_disk)
    with open(target_disk, "rb") as fh:
        fh.seek(700 * MiB)
        assert fh.read(len(late)) == late
    assert records.current_text(domain) == text  # same config: same MACs, name, VNC display
    path = f"{b.config_dir}/db1.cfg"
    assert sim(b).path(path).read_text() == text and not sim(a).path(path).exists()
    log = job_log_text(job)
    for expected in (
        f"zfs send -c -v -P {dataset}@migrate-{job.pk}",
        f"zfs recv -s {dataset}",
        f"zfs send -c -v -P -i @migrate-{job.pk} {dataset}@migrate-{job.pk}-final",
        "xl pause db1",
        "xl destroy db1",
    ):
        assert expected in log, expected
    # The record points at the target's copy; the source's stays, superseded, until cleaned up.
    domain.refresh_from_db()
    assert domain.volume.host_id == b.pk and domain.volume.state == Volume.State.READY
    old = Volume.objects.get(host=a, dataset=dataset)
    assert old.superseded and superseded_volumes(domain) == [old]
    assert sim(a).run(["zfs", "list", dataset]).rc == 0

    with transaction.atomic():
        cleanup = queue_cleanup(domain, user=domain.owner)
    cleanup = wait_for_job(cleanup, timeout=30)
    assert cleanup.status == "succeeded", cleanup.error
    assert sim(a).run(["zfs", "list", dataset]).rc != 0
    assert not Volume.objects.filter(host=a, dataset=dataset).exists()
    assert sim(b).run(["zfs", "list", dataset]).rc == 0 and "db1" in running(b)
    assert cleanup in Job.objects.on(domain)


def test_storage_migration_with_a_clean_shutdown(worker, admin_client, tmp_path):
    a, b = pair(tmp_path)
    domain, job = create_via_form(admin_client, a, "db2", disk_gib=1)
    assert job.status == "succeeded", job.error
    sim(a).set_pv_drivers("db2", True)
    write(disk(a, domain.volume.dataset), MiB, b"shutdown-data" * 1000)
    job = migrate(domain, b, domain.owner, mode="storage", downtime="shutdown")
    assert job.status == "succeeded", job.error + job_log_text(job)
    assert "xl shutdown -w db2" in job_log_text(job)
    assert_on_exactly(domain, b, a)
    assert sha(disk(b, domain.volume.dataset)) == sha(disk(a, f"{a.volumes_parent}/db2-disk0"))
    assert Domain.objects.filter(host=b, name="db2").exists()
