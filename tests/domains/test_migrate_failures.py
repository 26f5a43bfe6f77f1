"""A failure injected at each step of a migration leaves the domU on exactly one host (xl list on
both simulated hosts), the Domain row agrees, and the job says where it runs and what is left."""

from __future__ import annotations

import pytest

from tests.domains.snapshot_support import host_snapshots
from tests.domains.support import create_via_form, job_log_text
from tests.domains.test_migrate_live import assert_on_exactly, migrate, pair, sim

pytestmark = pytest.mark.django_db(transaction=True)


def _made(admin_client, host, name):  # type: ignore[no-untyped-def]
    domain, job = create_via_form(admin_client, host, name, disk_gib=1)
    assert job.status == "succeeded", job.error
    return domain


def _nothing_left_on(host, dataset: str) -> None:  # type: ignore[no-untyped-def]
    assert sim(host).run(["zfs", "list", dataset]).rc != 0


@pytest.mark.parametrize(
    ("fault", "downtime", "expected"),
    [
        # The stream breaks: the receiver fails at once (no resume token to retry with).
        (
            {"zfs recv": (1, "cannot receive new filesystem stream: out of space")},
            "pause",
            "out of space",
        ),
        # The receiver cannot build the domain after the incremental (the domU was paused).
        (
            {"xl create": (1, "libxl: error: libxl_create.c:1653:domcreate_rebuild_done: "
                              "Domain 7:cannot (re-)build domain: -3")},
            "pause",
            "xl create",
        ),
        # No PV drivers: the guest does not shut down; nothing is stopped.
        ({}, "shutdown", "did not shut down"),
    ],
)  # fmt: skip
def test_storage_migration_failure_leaves_it_on_the_source(
    worker, admin_client, tmp_path, fault, downtime, expected
):
    a, b = pair(tmp_path)
    domain = _made(admin_client, a, "f1")
    dataset = domain.volume.dataset
    sim(b).set_faults(fail=fault)
    job = migrate(domain, b, domain.owner, mode="storage", downtime=downtime)
    assert job.status == "failed"
    assert expected in job.error, job.error
    assert "f1 runs on xen-a" in job.error, job.error
    assert "Nothing is left on xen-b" in job.error, job.error
    sim(b).set_faults(fail={})
    assert_on_exactly(domain, a, b)
    assert not sim(a).store.read()["domains"]["f1"]["paused"]
    _nothing_left_on(b, dataset)
    assert host_snapshots(a, dataset) == []
    assert sim(a).path(f"{a.config_dir}/f1.cfg").exists()
    assert not sim(b).path(f"{b.config_dir}/f1.cfg").exists()
    assert job.result.get("where") == "xen-a"


def test_live_migration_receiver_out_of_memory(worker, admin_client, tmp_path):
    a, b = pair(tmp_path, shared="san1")
    domain = _made(admin_client, a, "f2")
    assert sim(b).run(["zfs", "create", "-V", "1G", domain.volume.dataset]).rc == 0
    with sim(b).store.edit() as state:
        state["total_mem_mib"] = state["dom0_mem_mib"] + 128
    job = migrate(domain, b, domain.owner, mode="live")
    assert job.status == "failed"
    assert "still runs on xen-a" in job.error, job.error
    assert "Cannot allocate memory" in job_log_text(job)
    assert_on_exactly(domain, a, b)
    assert job.result.get("where") == "xen-a"


def test_live_migration_receiver_without_xl(worker, admin_client, tmp_path):
    a, b = pair(tmp_path, shared="san1")
    domain = _made(admin_client, a, "f3")
    assert sim(b).run(["zfs", "create", "-V", "1G", domain.volume.dataset]).rc == 0
    # Only the receiving command fails (the checks' `xl list` there still works).
    sim(b).set_faults(fail={"xl migrate-receive": (127, "xl: Command not found.")})
    job = migrate(domain, b, domain.owner, mode="live")
    assert job.status == "failed"
    assert "still runs on xen-a" in job.error, job.error
    assert "xl: Command not found." in job_log_text(job)
    assert any(s.argv and s.argv[:2] == ["xl", "migrate"] for s in job.steps.all())
    assert [n for n in sim(a).store.read()["domains"]] == ["f3"]
    domain.refresh_from_db()
    assert domain.host_id == a.pk and domain.state == "running"
