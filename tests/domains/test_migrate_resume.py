"""Storage migration when the relayed `zfs send` stream breaks (real worker, two simulated hosts):
once, the job resumes from the receiver's `receive_resume_token` with `zfs send -t` and the data
arrives intact; twice, it undoes the move (the domU back on the source, nothing left on the
target). And when the paused source copy cannot be destroyed after the target runs the domU."""

from __future__ import annotations

import os

import pytest

from dom0.sim.streams import set_stream_faults
from domains.models import Domain
from tests.domains.snapshot_support import disk
from tests.domains.support import create_via_form, job_log_text
from tests.domains.test_migrate_live import assert_on_exactly, migrate, pair, running, sim
from tests.domains.test_migrate_storage import MiB, sha, write

pytestmark = pytest.mark.django_db(transaction=True)


def _made(admin_client, host, name):  # type: ignore[no-untyped-def]
    domain, job = create_via_form(admin_client, host, name, disk_gib=1, vnc_listen="127.0.0.1")
    assert job.status == "succeeded", job.error
    write(disk(host, domain.volume.dataset), 0, os.urandom(8 * MiB))  # a stream of ~8 MiB
    return domain


def test_a_stream_broken_half_way_is_resumed_from_the_token(worker, admin_client, tmp_path):
    a, b = pair(tmp_path)
    domain = _made(admin_client, a, "r1")
    dataset = domain.volume.dataset
    set_stream_faults(sim(a), cut_send_after=3 * MiB)  # the first full send breaks at 3 MiB
    job = migrate(domain, b, domain.owner, mode="storage", downtime="pause")
    assert job.status == "succeeded", job.error + job_log_text(job)
    log = job_log_text(job)
    assert f"warning: cannot send '{dataset}@migrate-{job.pk}': Broken pipe" in log
    assert "Resuming the send" in log and "zfs send -v -P -t 1-" in log
    assert_on_exactly(domain, b, a)
    assert sha(disk(b, dataset)) == sha(disk(a, dataset))
    token = sim(b).run(["zfs", "get", "-H", "-p", "-o", "value", "receive_resume_token", dataset])
    assert token.stdout.strip() == "-"


def test_a_stream_broken_twice_puts_the_domu_back_on_the_source(worker, admin_client, tmp_path):
    a, b = pair(tmp_path)
    domain = _made(admin_client, a, "r2")
    dataset = domain.volume.dataset
    set_stream_faults(sim(a), cut_send_after=3 * MiB, cuts=2)  # the resumed send breaks too
    job = migrate(domain, b, domain.owner, mode="storage", downtime="pause")
    assert job.status == "failed", job.error
    assert "Resuming the send" in job_log_text(job)
    assert "r2 runs on xen-a" in job.error, job.error
    assert "Nothing is left on xen-b" in job.error, job.error
    assert_on_exactly(domain, a, b)
    assert not sim(a).store.read()["domains"]["r2"]["paused"]
    assert sim(b).run(["zfs", "list", dataset]).rc != 0  # the partial receive went with it
    assert sim(b).run(["zfs", "recv", "-A", dataset]).rc != 0
    assert job.result.get("where") == "xen-a"


def test_a_paused_copy_that_cannot_be_destroyed_is_named_in_the_log(worker, admin_client, tmp_path):
    a, b = pair(tmp_path)
    domain = _made(admin_client, a, "r3")
    why = "libxl: error: libxl_domain.c:1574:devices_destroy_cb: Domain 1:devices_destroy failed"
    sim(a).set_faults(fail={"xl destroy": (1, why)})
    job = migrate(domain, b, domain.owner, mode="storage", downtime="pause")
    sim(a).set_faults(fail={})
    # The target runs it: the panel shows it there, whatever is left on the source.
    domain.refresh_from_db()
    assert domain.host_id == b.pk and domain.state == "running"
    assert running(b) == ["r3"]
    assert running(a) == ["r3"] and sim(a).store.read()["domains"]["r3"]["paused"]
    log = job_log_text(job)
    assert "the paused copy on xen-a is still there: `xl destroy` it" in log, log
    assert job.result.get("where") == "xen-b"
    assert not Domain.objects.filter(host=a, name="r3").exists()
