"""Cancelling a live migration while `xl migrate` sends the memory (real worker, two simulated
hosts): xl is stopped on the source, the domU keeps running there, nothing is left on the target."""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django.urls import reverse

from dom0.sim.streams import set_stream_faults
from domains.migration.actions import queue_migration
from jobs.models import JobStep
from tests.domains.support import create_via_form, job_log_text
from tests.domains.test_migrate_live import pair, running, sim
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)
#: The lines xl and its receiver print as the memory copy begins (in either order).
COPYING = ("Saving to migration stream", "Loading new save file", "Savefile contains", "Parsing")


def copying(message: str) -> bool:
    return message.lstrip().startswith(COPYING)


def test_cancel_during_xl_migrate_keeps_the_domu_on_the_source(worker, admin_client, tmp_path):
    a, b = pair(tmp_path, shared="san1")
    domain, job = create_via_form(admin_client, a, "c1", disk_gib=1, vnc_listen="127.0.0.1")
    assert job.status == "succeeded", job.error
    assert sim(b).run(["zfs", "create", "-V", "1G", domain.volume.dataset]).rc == 0
    # 1024 MiB of guest memory is a 4 MiB image in the simulator: ~40 s at 100 KiB/s.
    set_stream_faults(sim(a), migrate_rate=100 * 1024)
    with transaction.atomic():
        job = queue_migration(domain, b, mode="live", user=domain.owner)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if copying(job.message) or job.status not in ("queued", "running"):
            break
        time.sleep(0.05)
    assert copying(job.message), (job.status, job.message)
    started = time.monotonic()
    assert admin_client.post(reverse("jobs:cancel", args=[job.code])).status_code == 302
    job = wait_for_job(job, timeout=60)
    assert time.monotonic() - started < 20  # stopped, not waited out
    assert job.status == "cancelled", job.error + job_log_text(job)
    assert running(a) == ["c1"] and running(b) == []
    assert not sim(a).store.read()["domains"]["c1"]["paused"]
    domain.refresh_from_db()
    assert domain.host_id == a.pk and domain.state in ("running", "blocked"), domain.state
    log = job_log_text(job)
    assert "c1 still runs on xen-a; nothing of it is left on xen-b" in log, log
    step = JobStep.objects.get(job=job, argv__0="xl", argv__1="migrate")
    assert "cancelled: xl migrate was stopped" in step.output
    assert job.result.get("where") == "xen-a"
    set_stream_faults(sim(a), migrate_rate=0)
    assert sim(a).path(f"{a.config_dir}/c1.cfg").exists()
