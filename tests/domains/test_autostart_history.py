"""Autostart after a Dom0 reboot (in order, with delays), config history diff and restore.

Autostart runs only after the Dom0 rebooted: a domU that was shut down on purpose, or that powered
off by itself, stays off; and a domU another job holds is skipped, not raced.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from dom0.sim import SimHost
from domains import observe
from domains.models import Domain
from jobs import locks
from jobs.models import Job
from tests.domains.support import act, create_via_form, poll, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_starts_autostart_domus_in_order_after_a_dom0_reboot(worker, admin_client, tmp_path):
    host = refreshed_host("xen1", tmp_path)
    sim = SimHost(host.sim_dir)
    made = {}
    for name, order, delay, auto in [
        ("db", 1, 1, "on"),
        ("app", 2, 0, "on"),
        ("scratch", 3, 0, None),
    ]:
        domain, job = create_via_form(
            admin_client,
            host,
            name,
            memory_mb=512,
            autostart=auto,
            autostart_order=order,
            autostart_delay=delay,
        )
        assert job.status == "succeeded", job.error
        made[name] = domain
    # Up for an hour before the reboot: Domain-0's CPU time then clearly goes back (the domUs
    # are gone, so it is the only sign), however slowly this machine runs the polls.
    sim.age(3600)
    poll(host)  # the facts now hold the domids and Domain-0's CPU time
    assert not Job.objects.filter(kind="domain.autostart").exists()

    sim.reboot()
    poll(host)
    job = wait_for_job(Job.objects.get(kind="domain.autostart"), timeout=30)
    assert job.status == "succeeded", job.error
    assert "CPU time went back" in job.params["reason"]
    creates = [
        s.argv[2] for s in job.steps.order_by("seq") if s.argv and s.argv[:2] == ["xl", "create"]
    ]
    assert creates == ["/usr/local/etc/xen/db.cfg", "/usr/local/etc/xen/app.cfg"]
    labels = [s.label for s in job.steps.order_by("seq")]
    assert labels.index("Waiting 1s after db") < labels.index("Create app (xl create)")
    wait = job.steps.get(label="Waiting 1s after db")
    assert wait.seconds >= 1.0

    listing = sim.run(["xl", "list"]).stdout
    assert "db" in listing and "app" in listing and "scratch" not in listing
    for domain in made.values():
        domain.refresh_from_db()
    assert made["db"].domid < made["app"].domid
    assert made["scratch"].state == "not_running"

    # Everything that should run runs: the next poll queues nothing more.
    poll(host)
    assert Job.objects.filter(kind="domain.autostart").count() == 1


def test_it_leaves_a_domu_that_was_shut_down_on_purpose(worker, admin_client, tmp_path):
    host = refreshed_host("xen2", tmp_path)
    domain, job = create_via_form(admin_client, host, "quiet", autostart="on")
    assert act(admin_client, domain, "destroy").status == "succeeded"
    SimHost(host.sim_dir).reboot()
    poll(host)
    assert not Job.objects.filter(kind="domain.autostart").exists()


def test_it_leaves_a_guest_that_powered_off_on_its_own(worker, admin_client, tmp_path, monkeypatch):
    monkeypatch.setattr(observe, "SETTLE_AFTER", timedelta(0), raising=False)
    host = refreshed_host("xen3", tmp_path)
    domain, job = create_via_form(admin_client, host, "selfoff", autostart="on")
    assert job.status == "succeeded", job.error
    poll(host)
    # The guest powers itself off (or crashes): the host stays up.
    assert SimHost(host.sim_dir).run(["xl", "destroy", "selfoff"]).rc == 0
    poll(host)
    poll(host)
    assert not Job.objects.filter(kind="domain.autostart").exists()
    domain.refresh_from_db()
    assert domain.state == "not_running" and not domain.should_run
    assert "selfoff" not in SimHost(host.sim_dir).run(["xl", "list"]).stdout


def test_it_autostarts_after_a_reboot_but_skips_a_domu_another_job_holds(
    worker, admin_client, tmp_path
):
    host = refreshed_host("xen4", tmp_path)
    made = []
    for order, name in enumerate(("first", "second")):
        domain, job = create_via_form(
            admin_client, host, name, memory_mb=256, autostart="on", autostart_order=order
        )
        assert job.status == "succeeded", job.error
        made.append(domain)
    SimHost(host.sim_dir).age(3600)  # see the first test
    poll(host)
    SimHost(host.sim_dir).reboot()
    held = made[0]
    assert locks.acquire(held.lock_key, 999_999) is None  # a job of the user's runs on it
    try:
        poll(host)
        job = wait_for_job(Job.objects.get(kind="domain.autostart"), timeout=30)
    finally:
        locks.release(held.lock_key, 999_999)
    assert job.status == "succeeded", job.error
    skip = job.steps.get(label="Skip first")
    assert "job #999999 is working on it" in skip.output
    creates = [s.argv[2] for s in job.steps.all() if s.argv and s.argv[:2] == ["xl", "create"]]
    assert creates == ["/usr/local/etc/xen/second.cfg"]
    assert locks.holder(made[1].lock_key) is None  # released after starting it


def test_it_shows_config_diffs_and_restores_a_version(worker, admin_client, tmp_path):
    from tests.domains.support import put_iso

    host = refreshed_host("xen5", tmp_path)
    iso = put_iso(host)
    domain, job = create_via_form(admin_client, host, "hist", iso=str(iso.code))
    assert job.status == "succeeded", job.error
    admin_client.post(reverse("domains:finish_install", args=[domain.code]))
    assert (
        wait_for_job(Job.objects.filter(kind="domain.finish_install").get()).status == "succeeded"
    )

    url = reverse("domains:history", args=[domain.code])
    page = admin_client.get(url + "?a=1&b=2").content.decode()
    assert '<span class="diff-del">-    &#x27;format=raw, vdev=hdc, access=r, devtype=cdrom' in page
    assert "s3cretPw" not in page and "********" in page

    response = admin_client.post(reverse("domains:restore", args=[domain.code, 1]))
    assert response.status_code == 302
    domain.refresh_from_db()
    versions = list(domain.versions.order_by("number"))
    assert len(versions) == 3
    assert versions[2].text == versions[0].text
    assert versions[2].note == "Restored version 1 (takes effect at the next start)"
    assert versions[2].author.username == "root"
    assert domain.iso == iso  # the row follows the restored config
    page = admin_client.get(url + "?a=2&b=3").content.decode()
    assert '<span class="diff-add">+    &#x27;format=raw, vdev=hdc' in page

    # It takes effect at the next start: the host's file changes only then.
    sim = SimHost(host.sim_dir)
    assert "cdrom" not in sim.path("/usr/local/etc/xen/hist.cfg").read_text()
    assert act(admin_client, domain, "destroy").status == "succeeded"
    assert act(admin_client, domain, "start").status == "succeeded"
    assert "devtype=cdrom" in sim.path("/usr/local/etc/xen/hist.cfg").read_text()
    assert Domain.objects.get(pk=domain.pk).state in ("running", "blocked")
