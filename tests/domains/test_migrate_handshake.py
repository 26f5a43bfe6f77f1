"""Live migration when xl's final handshake breaks (real worker, two simulated hosts): the
connection drops after the receiver started the domU (it moved: the panel shows the target) or
before it got the go (undefined: the panel keeps the source and says what to check)."""

from __future__ import annotations

import pytest

from dom0.sim.streams import set_stream_faults
from tests.domains.support import create_via_form, job_log_text
from tests.domains.test_migrate_live import migrate, pair, running, sim

pytestmark = pytest.mark.django_db(transaction=True)


def _shared(admin_client, tmp_path, name):  # type: ignore[no-untyped-def]
    a, b = pair(tmp_path, shared="san1")
    domain, job = create_via_form(admin_client, a, name, disk_gib=1, vnc_listen="127.0.0.1")
    assert job.status == "succeeded", job.error
    assert sim(b).run(["zfs", "create", "-V", "1G", domain.volume.dataset]).rc == 0
    return a, b, domain


def test_handshake_lost_after_the_target_started_it(worker, admin_client, tmp_path):
    a, b, domain = _shared(admin_client, tmp_path, "h1")
    set_stream_faults(sim(b), migrate_fault="hangup-after-start")
    job = migrate(domain, b, domain.owner, mode="live")
    assert job.status == "failed"
    assert "** Migration failed during final handshake **" in job_log_text(job)
    # It runs on the target under its name: the panel follows it there, with its config file.
    domain.refresh_from_db()
    assert domain.host_id == b.pk and domain.state == "running"
    assert running(b) == ["h1"] and running(a) == ["h1--migratedaway"]
    assert "the panel now shows it on xen-b" in job.error, job.error
    assert "`xl destroy h1--migratedaway` on xen-a" in job.error, job.error
    assert sim(b).path(f"{b.config_dir}/h1.cfg").exists()
    assert not sim(a).path(f"{a.config_dir}/h1.cfg").exists()
    assert job.result.get("where") == "xen-b"


def test_handshake_lost_before_the_go_leaves_it_undefined(worker, admin_client, tmp_path):
    a, b, domain = _shared(admin_client, tmp_path, "h2")
    set_stream_faults(sim(b), migrate_fault="hangup-after-ready")
    job = migrate(domain, b, domain.owner, mode="live")
    assert job.status == "failed"
    assert "Domain state is now undefined !" in job_log_text(job)
    # Neither host runs it under its name; both hold a paused copy. The panel keeps the source.
    assert running(a) == ["h2--migratedaway"] and running(b) == ["h2--incoming"]
    domain.refresh_from_db()
    assert domain.host_id == a.pk
    assert job.result.get("where") == "unknown"
    for expected in ("state is undefined", "The panel keeps it on xen-a",
                     "`xl destroy h2--incoming`", "`xl rename h2--migratedaway h2`"):  # fmt: skip
        assert expected in job.error, job.error
    # No copy was destroyed by the panel: it is the admin's call which one lives.
    assert sim(a).store.read()["domains"]["h2--migratedaway"]["paused"]
