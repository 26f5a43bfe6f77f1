"""A cancel that comes after a migration's point of no return (real worker, two simulated hosts;
issue 14 review items 1 and 2): the job finishes, the record follows the domU, and the log says
the cancel came too late. The cancel is injected at an exact moment of the job (the worker runs
in this process); every cancel check then asks the database (no half-second grace)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

import jobs.context
from dom0.sim.streams import set_stream_faults
from domains.migration import live, switch
from domains.migration.actions import queue_migration
from jobs.models import Job
from tests.domains.support import create_via_form, job_log_text
from tests.domains.test_migrate_live import assert_on_exactly, pair, running, sim
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def ask_to_cancel() -> None:
    """What the Cancel button does to a running job: set its flag (from the worker's thread)."""
    try:
        Job.objects.filter(kind="domain.migrate", status="running").update(cancel_requested=True)
    finally:
        connection.close()


def test_a_cancel_during_xl_create_on_the_target_is_ignored_and_the_record_moves(
    worker, admin_client, tmp_path, monkeypatch
):
    a, b = pair(tmp_path)
    domain, job = create_via_form(admin_client, a, "nr1", disk_gib=1)
    assert job.status == "succeeded", job.error
    monkeypatch.setattr(jobs.context, "CANCEL_CHECK_INTERVAL", 0)
    real_run_on = switch.run_on

    def run_on(ctx: Any, host: Any, argv: Any, label: str, **kw: Any) -> Any:
        result = real_run_on(ctx, host, argv, label, **kw)
        if label.startswith("Create nr1 (xl create)"):
            ask_to_cancel()  # the user clicks Cancel while xl create returns
        return result

    monkeypatch.setattr(switch, "run_on", run_on)
    with transaction.atomic():
        job = queue_migration(domain, b, mode="storage", downtime="pause", user=domain.owner)
    job = wait_for_job(job, timeout=120)
    log = job_log_text(job)
    assert job.status == "succeeded", job.error + log
    assert job.cancel_requested
    assert_on_exactly(domain, b, a)
    assert job.result["point_of_no_return"] and job.result["cancel_ignored"]
    assert job.result["where"] == "xen-b"
    assert "Cancel came after the switch: finishing" in log
    # The tidying after the switch ran too: no paused copy, no config left on the source.
    assert running(a) == [] and not sim(a).path(f"{a.config_dir}/nr1.cfg").exists()


def test_a_cancel_while_xl_hands_over_with_a_lost_handshake_reads_both_hosts_back(
    worker, admin_client, tmp_path, monkeypatch
):
    a, b = pair(tmp_path, shared="san1")
    domain, job = create_via_form(admin_client, a, "nr2", disk_gib=1, vnc_listen="127.0.0.1")
    assert job.status == "succeeded", job.error
    assert sim(b).run(["zfs", "create", "-V", "1G", domain.volume.dataset]).rc == 0
    set_stream_faults(sim(b), migrate_fault="hangup-after-ready")
    monkeypatch.setattr(jobs.context, "CANCEL_CHECK_INTERVAL", 0)
    real_read_lines = live._read_lines

    def read_lines(command: Any, queue: Any) -> None:
        class Lines:
            def stderr_lines(self) -> Any:
                for line in command.stderr_lines():
                    if "Transfer complete" in line:
                        ask_to_cancel()  # the receiver has the whole domU, paused
                    yield line

        real_read_lines(Lines(), queue)  # type: ignore[arg-type]

    monkeypatch.setattr(live, "_read_lines", read_lines)
    with transaction.atomic():
        job = queue_migration(domain, b, mode="live", user=domain.owner)
    job = wait_for_job(job, timeout=90)
    log = job_log_text(job)
    # Not "cancelled" half-way: both hosts were read back and the job says what to check.
    assert job.status == "failed", job.status + job.error + log
    assert job.cancel_requested
    assert job.result.get("where") == "unknown", job.result
    assert "Cancelled late" in log or "Point of no return" in log, log
    assert "state is undefined" in job.error and "`xl destroy nr2--incoming`" in job.error
    assert running(a) == ["nr2--migratedaway"] and running(b) == ["nr2--incoming"]
    domain.refresh_from_db()
    assert domain.host_id == a.pk
    assert "Read xl list back on xen-a" in log and "Read xl list back on xen-b" in log
