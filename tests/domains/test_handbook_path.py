"""The handbook's path (B2–B6) end to end: form → worker → simulated Dom0 → pages."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from dom0.sim import SimHost
from domains.models import Domain
from jobs.models import Job
from storage.models import Volume
from tests.domains.support import act, create_via_form, latest_job, put_iso, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def _argvs(job) -> list[list[str]]:
    return [s.argv for s in job.steps.order_by("seq") if s.argv]


def test_it_creates_installs_and_finishes_a_domu_like_the_handbook(worker, admin_client, tmp_path):
    host = refreshed_host("xen1", tmp_path)
    sim = SimHost(host.sim_dir)
    iso = put_iso(host)

    domain, job = create_via_form(admin_client, host, "freebsd", iso=str(iso.code))
    assert job.status == "succeeded", job.error
    argvs = _argvs(job)
    assert argvs[0] == [
        "zfs",
        "create",
        "-V",
        "20G",
        "-o",
        "volmode=dev",
        "zroot/xen/freebsd-disk0",
    ]
    assert ["xl", "create", "/usr/local/etc/xen/freebsd.cfg", "-q"] in argvs
    assert argvs[-1] == ["xl", "list"]
    labels = [s.label for s in job.steps.order_by("seq")]
    assert any(
        label.startswith("Write the config to /usr/local/etc/xen/freebsd.cfg") for label in labels
    )
    # The password never reaches the job log.
    assert all("s3cretPw" not in s.output for s in job.steps.all())

    volume = Volume.objects.get(host=host, dataset="zroot/xen/freebsd-disk0")
    assert volume.state == Volume.State.READY and volume.owner.username == "root"
    domain.refresh_from_db()
    assert domain.state in ("running", "blocked") and domain.domid
    assert domain.volume == volume and domain.iso == iso

    written = sim.path("/usr/local/etc/xen/freebsd.cfg").read_text()
    assert "target=/dev/zvol/zroot/xen/freebsd-disk0" in written
    assert f"devtype=cdrom, target={iso.path}" in written
    assert "vncunused = 0" in written and f"vncdisplay = {domain.vnc_display}" in written

    # The VNC port the page shows is the one the host's QEMU listens on.
    port = sim.vnc_port("freebsd")
    assert port == 5900 + domain.vnc_display
    page = admin_client.get(domain.get_absolute_url()).content.decode()
    assert f'data-testid="vnc-port">{port}<' in page
    # vnclisten 127.0.0.1: reached through an SSH tunnel, no direct address (issue 17 item 6).
    assert f"-L {port}:127.0.0.1:{port}" in page and f"vncviewer localhost::{port}" in page
    assert "vnc://" not in page
    assert "s3cretPw" not in page
    assert "Finish install" in page

    first_domid = domain.domid
    response = admin_client.post(reverse("domains:finish_install", args=[domain.code]))
    assert response.status_code == 302
    job = wait_for_job(latest_job(domain))
    assert job.status == "succeeded", job.error
    argvs = _argvs(job)
    assert ["xl", "destroy", "freebsd"] in argvs
    assert argvs.index(["xl", "destroy", "freebsd"]) < argvs.index(
        ["xl", "create", "/usr/local/etc/xen/freebsd.cfg", "-q"]
    )

    # Running from its own disk, without the cdrom: in the file and in the live domain.
    written = sim.path("/usr/local/etc/xen/freebsd.cfg").read_text()
    assert "cdrom" not in written and iso.path not in written
    live = json.loads(sim.run(["xl", "list", "-l", "freebsd"]).stdout)
    disks = live[0]["config"]["disks"]
    assert [d["pdev_path"] for d in disks] == ["/dev/zvol/zroot/xen/freebsd-disk0"]
    assert not any(d.get("is_cdrom") for d in disks)
    domain.refresh_from_db()
    assert domain.state in ("running", "blocked") and domain.domid > first_domid
    assert domain.iso is None
    assert sim.vnc_port("freebsd") == port  # the port survives the re-create

    versions = list(domain.versions.order_by("number"))
    assert [v.note for v in versions] == ["Created", "Finish install: removed the installer cdrom"]
    history = admin_client.get(reverse("domains:history", args=[domain.code])).content.decode()
    assert "diff-del" in history and "devtype=cdrom" in history


def test_it_runs_the_lifecycle_and_reads_the_state_back(worker, admin_client, tmp_path):
    host = refreshed_host("xen2", tmp_path)
    sim = SimHost(host.sim_dir)
    domain, job = create_via_form(admin_client, host, "web1")
    assert job.status == "succeeded", job.error

    job = act(admin_client, domain, "pause")
    assert job.status == "succeeded", job.error
    domain.refresh_from_db()
    assert domain.state == "paused"
    live = admin_client.get(reverse("domains:live", args=[domain.code])).content.decode()
    assert 'data-state="paused"' in live and "Unpause" in live

    assert act(admin_client, domain, "unpause").status == "succeeded"
    domain.refresh_from_db()
    assert domain.state in ("running", "blocked")

    # No PV drivers in the guest: a graceful shutdown fails with xl's message, and the page
    # offers the ACPI power button and destroy.
    job = act(admin_client, domain, "shutdown")
    assert job.status == "failed"
    assert "xl shutdown -w web1" in job.error and "PV drivers" in job.error
    live = admin_client.get(reverse("domains:live", args=[domain.code])).content.decode()
    assert "Press the ACPI power button" in live and "Destroy (force off)" in live

    job = act(admin_client, domain, "power_button")
    assert job.status == "succeeded", job.error
    assert ["xl", "shutdown", "-w", "-F", "web1"] in _argvs(job)
    domain.refresh_from_db()
    assert domain.state == "not_running" and domain.domid is None and not domain.should_run

    assert act(admin_client, domain, "start").status == "succeeded"
    domain.refresh_from_db()
    assert domain.state in ("running", "blocked") and domain.should_run

    sim.set_pv_drivers("web1", True)
    job = act(admin_client, domain, "reboot")
    assert job.status == "succeeded", job.error
    job = act(admin_client, domain, "destroy")
    assert job.status == "succeeded", job.error
    domain.refresh_from_db()
    assert domain.state == "not_running"
    assert "web1" not in sim.run(["xl", "list"]).stdout


def test_it_deletes_a_domu_and_optionally_its_volume(worker, admin_client, tmp_path):
    host = refreshed_host("xen3", tmp_path)
    sim = SimHost(host.sim_dir)
    domain, job = create_via_form(admin_client, host, "tmp1")
    assert job.status == "succeeded", job.error
    response = admin_client.post(
        reverse("domains:delete", args=[domain.code]), {"confirm": "wrong"}
    )
    assert Domain.objects.filter(pk=domain.pk).exists()
    response = admin_client.post(
        reverse("domains:delete", args=[domain.code]),
        {"confirm": "tmp1", "destroy_volume": "1"},
    )
    assert response.status_code == 302
    job = wait_for_job(Job.objects.filter(kind="domain.delete").latest("created_at"))
    assert job.status == "succeeded", job.error
    assert not Domain.objects.filter(pk=domain.pk).exists()
    assert not Volume.objects.filter(dataset="zroot/xen/tmp1-disk0").exists()
    assert not sim.path("/usr/local/etc/xen/tmp1.cfg").exists()
    assert "tmp1-disk0" not in sim.run(["zfs", "list", "-H", "-o", "name"]).stdout
