"""Creating a domU where the host already has something of that name.

A config file in the config dir is replaced only when the panel wrote it; a dataset is adopted
only when this very job made it (a redelivered job whose first delivery ran `zfs create`); and a
new volume's name skips past the datasets the last scan found.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from dom0 import commands
from dom0.sim import SimHost
from domains import cfg
from domains.forms import new_dataset
from domains.models import Domain
from hosts.models import Host
from jobs.models import Job
from storage.jobs.volumes import queue_scan
from storage.models import Volume
from tests.domains.support import (
    GIB,
    create_via_form,
    form_data,
    job_log_text,
    queued_create,
    refreshed_host,
)
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

PW = "Xq7mPw3k"


def _zfs_names(host: Host) -> set[str]:
    out = SimHost(host.sim_dir).run(["zfs", "list", "-H", "-o", "name"]).stdout
    return set(out.split())


# --- a config file of that name in the config dir -----------------------------------------------


def test_it_refuses_to_overwrite_a_hand_written_config(worker, admin_client, tmp_path):
    host = refreshed_host("xen5", tmp_path)
    sim = SimHost(host.sim_dir)
    mine = f'# my router\ntype = "hvm"\nname = "router"\nmemory = 128\nvncpasswd = "{PW}"\n'
    sim.path("/usr/local/etc/xen/router.cfg").write_text(mine)

    response = admin_client.post(reverse("domains:new"), form_data(host, "router"))
    assert response.status_code == 302
    job = wait_for_job(Job.objects.filter(kind="domain.create").latest("created_at"))
    assert job.status == "failed"
    assert "/usr/local/etc/xen/router.cfg already exists on xen5" in job.error
    assert "not written by the panel" in job.error and "import it" in job.error
    assert sim.path("/usr/local/etc/xen/router.cfg").read_text() == mine
    assert "zroot/xen/router-disk0" not in _zfs_names(host)
    assert not Domain.objects.filter(name="router").exists()
    assert not Volume.objects.filter(dataset="zroot/xen/router-disk0").exists()
    assert PW not in job_log_text(job)


def test_it_replaces_a_config_the_panel_wrote(worker, admin_client, tmp_path):
    host = refreshed_host("xen6", tmp_path)
    sim = SimHost(host.sim_dir)
    stale = cfg.render(cfg.build(cfg.Settings("again", 256, 1, None, None, "bridge0")))
    sim.path("/usr/local/etc/xen/again.cfg").write_text(stale)
    domain, job = create_via_form(admin_client, host, "again")
    assert job.status == "succeeded", job.error
    assert "memory = 1024" in sim.path("/usr/local/etc/xen/again.cfg").read_text()


# --- a dataset that is not the panel's ----------------------------------------------------------


def test_it_does_not_adopt_a_dataset_it_did_not_make(worker, admin_client, tmp_path):
    host = refreshed_host("xen7", tmp_path)
    sim = SimHost(host.sim_dir)
    assert sim.run(["zfs", "create", "-V", "1G", "zroot/xen/taken-disk0"]).rc == 0

    response = admin_client.post(reverse("domains:new"), form_data(host, "taken"))
    assert response.status_code == 302
    job = wait_for_job(Job.objects.filter(kind="domain.create").latest("created_at"))
    assert job.status == "failed"
    assert "zroot/xen/taken-disk0 already exists" in job.error
    assert "this job did not make it" in job.error
    # Nothing is left that a Start could boot on the foreign volume with.
    assert not Domain.objects.filter(name="taken").exists()
    assert not Volume.objects.filter(dataset="zroot/xen/taken-disk0").exists()
    assert "zroot/xen/taken-disk0" in _zfs_names(host)
    assert "taken" not in sim.run(["xl", "list"]).stdout


def test_it_adopts_on_redelivery_only_what_its_first_delivery_made(worker, admin_user, tmp_path):
    host = refreshed_host("xen8", tmp_path)
    sim = SimHost(host.sim_dir)
    # A redelivered job whose first delivery never ran zfs create: the dataset is someone's.
    assert sim.run(["zfs", "create", "-V", "20G", "zroot/xen/other-disk0"]).rc == 0
    domain, job = queued_create(host, "other", admin_user, redelivered=True)
    job = wait_for_job(job)
    assert job.status == "failed" and "this job did not make it" in job.error
    assert not Domain.objects.filter(name="other").exists()

    # A redelivered job whose first delivery ran zfs create before its worker died: its own.
    argv = commands.zfs_create_volume("zroot/xen/mine-disk0", 20 * GIB)
    assert sim.run(argv).rc == 0
    domain, job = queued_create(host, "mine", admin_user, redelivered=True, earlier_zfs_create=True)
    job = wait_for_job(job)
    assert job.status == "succeeded", job.error
    assert job.steps.filter(label="Volume exists").exists()
    assert Volume.objects.get(dataset="zroot/xen/mine-disk0").state == "ready"

    # The same, but the dataset there is not the size the job asked for: not adopted.
    assert sim.run(["zfs", "create", "-V", "1G", "zroot/xen/odd-disk0"]).rc == 0
    domain, job = queued_create(host, "odd", admin_user, redelivered=True, earlier_zfs_create=True)
    job = wait_for_job(job)
    assert job.status == "failed" and "this job did not make it" in job.error
    assert not Domain.objects.filter(name="odd").exists()


def test_it_names_a_new_volume_past_what_the_last_scan_found(worker, admin_user, tmp_path):
    host = refreshed_host("xen9", tmp_path)
    assert SimHost(host.sim_dir).run(["zfs", "create", "-V", "1G", "zroot/xen/web-disk0"]).rc == 0
    assert new_dataset(host, "web") == "zroot/xen/web-disk0"
    with transaction.atomic():
        scan = queue_scan(host, admin_user)
    assert wait_for_job(scan).status == "succeeded"
    assert new_dataset(host, "web") == "zroot/xen/web-disk1"
