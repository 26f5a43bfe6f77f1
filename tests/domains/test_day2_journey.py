"""Issue 13's acceptance path in one go (real Redis, Celery worker and simulated Dom0):

create → install → snapshot → change memory and add a NIC (the MACs stay fixed through Finish
install) → roll back (config and disks back) → make a template → create 3 clones from it in one
action → each boots with its own MAC and disk clone → deleting the template is refused while
clones exist.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from dom0.sim import SimHost
from domains.models import Domain, DomainTemplate
from jobs.models import Job
from storage.models import Volume
from tests.domains.edit_support import save_edit
from tests.domains.snapshot_support import disk, host_snapshots, post, take
from tests.domains.support import act, create_via_form, latest_job, put_iso, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

DATASET = "zroot/xen/app-disk0"


def live_config(sim: SimHost, name: str) -> dict:
    """What the hypervisor runs for `name` (`xl list -l`), not what the panel thinks."""
    result = sim.run(["xl", "list", "-l", name])
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)[0]["config"]


def live_macs(sim: SimHost, name: str) -> list[str]:
    return [nic["mac"] for nic in live_config(sim, name).get("nics", [])]


def test_it_edits_snapshots_rolls_back_templates_and_clones_a_domu(
    worker, admin_client, admin_user, tmp_path
):
    host = refreshed_host("xen-day2", tmp_path)
    sim = SimHost(host.sim_dir)
    iso = put_iso(host)

    # Create and "install": the installer writes the guest's disk.
    domain, job = create_via_form(admin_client, host, "app", iso=str(iso.code))
    assert job.status == "succeeded", job.error
    first_mac = domain.nics.get().mac
    assert first_mac.startswith("00:16:3e:")
    assert live_macs(sim, "app") == [first_mac]
    disk(host, DATASET).write_bytes(b"installed system")

    # Snapshot it while it runs (crash-consistent), with the config of that moment.
    snap, job = take(admin_client, domain, "installed", "running")
    assert job.status == "succeeded", job.error
    assert snap is not None and host_snapshots(host, DATASET) == ["installed"]
    config_at_snapshot = snap.config_text
    assert "memory = 1024" in config_at_snapshot

    # Change memory (past maxmem: at the next start) and add a NIC, then Finish install, which
    # starts it from its file: the new settings run and both MACs are the ones the panel chose.
    response = save_edit(
        admin_client, domain, admin_user, memory_mb=1536, add_nic="on", add_nic_bridge="bridge0"
    )
    assert response.status_code == 302
    domain.refresh_from_db()
    macs = list(domain.nics.values_list("mac", flat=True))
    assert len(macs) == 2 and macs[0] == first_mac and len(set(macs)) == 2
    assert domain.memory_mb == 1536 and domain.restart_pending
    response = admin_client.post(reverse("domains:finish_install", args=[domain.code]))
    assert response.status_code == 302
    job = wait_for_job(latest_job(domain))
    assert job.status == "succeeded", job.error
    domain.refresh_from_db()
    assert not domain.restart_pending
    assert live_macs(sim, "app") == macs
    assert live_config(sim, "app")["b_info"]["max_memkb"] == 1536 * 1024
    disk(host, DATASET).write_bytes(b"configured, then broken")

    # Roll back: stopped first; the disk and the config of that moment come back.
    assert act(admin_client, domain, "destroy").status == "succeeded"
    job = post(admin_client, "snapshot_rollback", domain, snap, confirm="installed")
    assert job.status == "succeeded", job.error
    assert disk(host, DATASET).read_bytes() == b"installed system"
    domain.refresh_from_db()
    assert domain.memory_mb == 1024
    assert list(domain.nics.values_list("mac", flat=True)) == [first_mac]
    written = sim.path(f"{host.config_dir}/app.cfg").read_text()
    assert "memory = 1024" in written and f"mac={first_mac}" in written
    assert domain.versions.first().note == "Rolled back to snapshot installed"

    # Make it a template (its installer cdrom goes: a template boots from its disk).
    response = admin_client.post(
        reverse("domains:make_template", args=[domain.code]), {"confirm": "app", "name": "app"}
    )
    assert response.status_code == 302
    job = wait_for_job(Job.objects.filter(kind="domain.make_template").latest("created_at"))
    assert job.status == "succeeded", job.error
    template = DomainTemplate.objects.get(host=host, name="app")
    assert Volume.objects.get(dataset=DATASET).readonly

    # Three clones in one action, one job each.
    response = admin_client.post(
        reverse("domains:clone_new"),
        {
            "template": str(template.code),
            "name": "web-{n}",
            "count": 3,
            "start": 1,
            "memory_mb": 512,
            "vcpus": 1,
            "bridge_0": "bridge0",
        },
    )
    assert response.status_code == 302
    jobs = [wait_for_job(j, timeout=60) for j in Job.objects.filter(kind="domain.clone")]
    assert len(jobs) == 3 and all(j.status == "succeeded" for j in jobs), [j.error for j in jobs]
    clones = list(Domain.objects.filter(host=host).order_by("name"))
    assert [c.name for c in clones] == ["web-1", "web-2", "web-3"]
    seen_macs: set[str] = {first_mac}
    for clone in clones:
        clone.refresh_from_db()
        assert clone.state in ("running", "blocked") and clone.template == template
        (mac,) = live_macs(sim, clone.name)
        assert mac.startswith("00:16:3e:") and mac not in seen_macs
        seen_macs.add(mac)
        dataset = clone.volume.dataset
        assert clone.volume.origin == f"{DATASET}@template"
        origin = sim.run(["zfs", "get", "-H", "-o", "value", "origin", dataset]).stdout.strip()
        assert origin == f"{DATASET}@template"
        assert [d["pdev_path"] for d in live_config(sim, clone.name)["disks"]] == [
            f"/dev/zvol/{dataset}"
        ]
        # Its disk starts as the template's: the installed system.
        assert disk(host, dataset).read_bytes() == b"installed system"

    # The template cannot go while its clones exist.
    page = admin_client.post(
        reverse("domains:template_delete", args=[template.code]), {"confirm": "app"}, follow=True
    ).content.decode()
    assert "app has clones: web-1, web-2, web-3" in page
    assert not Job.objects.filter(kind="template.delete").exists()
    assert DomainTemplate.objects.filter(pk=template.pk).exists()
    assert host_snapshots(host, DATASET) == ["installed", "template"]
