"""Review fixes: VNC passwords, autostart, foreign configs and datasets, delete, shutdown."""

# ruff: noqa: S104 (0.0.0.0 here is a vnclisten value in a config, not a socket we bind)

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse

from domains import actions, cfg, observe, records
from domains.forms import new_dataset
from domains.jobs import _config_from_detail
from domains.models import Domain
from hosts.dom0 import commands, parsers
from hosts.dom0.sim import SimHost
from hosts.jobs import locks
from hosts.jobs.context import JobContext
from hosts.jobs.volumes import queue_scan
from hosts.models import Host, Job, JobStep, Volume
from hosts.simhosts import create_sim_host
from tests.domains.support import act, create_via_form, form_data, poll, refreshed_host
from tests.support.jobs import wait_for_job

GIB = 2**30
PW = "Xq7mPw3k"


def _step_text(job: Job) -> str:
    """Everything a job's log shows: every step's argv and output, and the job's messages."""
    parts = [job.error, job.message]
    for step in job.steps.all():
        parts += [step.label, " ".join(step.argv or []), step.output]
    return "\n".join(parts)


def _zfs_names(host: Host) -> set[str]:
    out = SimHost(host.sim_dir).run(["zfs", "list", "-H", "-o", "name"]).stdout
    return set(out.split())


def _queued_create(
    host: Host,
    name: str,
    user,
    *,
    cancel: bool = False,
    redelivered: bool = False,
    earlier_zfs_create: bool = False,
) -> tuple[Domain, Job]:
    """Make what the new-domU form makes (domU, CREATING volume, config, create job) by hand.

    `cancel`: the job was cancelled while queued. `redelivered`: a worker ran it before and died.
    `earlier_zfs_create`: that first delivery had started `zfs create` when its worker died.
    """
    dataset = f"{host.volumes_parent}/{name}-disk0"
    with transaction.atomic():
        volume = Volume.objects.create(host=host, dataset=dataset, size_bytes=20 * GIB, owner=user)
        domain = Domain.objects.create(
            host=host, name=name, owner=user, memory_mb=512, volume=volume, vnc_display=None
        )
        settings = cfg.Settings(name, 512, 1, volume.device_path, None, "bridge0")
        records.add_version(domain, cfg.render(cfg.build(settings)), author=user, note="Created")
        job = actions.queue(domain, actions.CREATE, f"Create {name}", params={"new_volume": True})
        if cancel:
            Job.objects.filter(pk=job.pk).update(status="cancelled", cancel_requested=True)
        if redelivered:
            Job.objects.filter(pk=job.pk).update(attempt=1)
        if earlier_zfs_create:
            JobStep.objects.create(
                job=job,
                seq=1,
                label=f"Create volume {dataset}",
                argv=commands.zfs_create_volume(dataset, 20 * GIB),
            )
    job.refresh_from_db()
    return domain, job


# --- 2. VNC passwords in import ----------------------------------------------------------------


def test_it_keeps_the_vnc_password_from_xl_list_long_out_of_reprs():
    text = (
        '[{"domid": 3, "config": {"c_info": {"name": "a", "type": "hvm"}, "b_info": '
        '{"type.hvm": {"vnc": {"enable": "True", "listen": "0.0.0.0", "passwd": "' + PW + '"}}}}}]'
    )
    (detail,) = parsers.parse_xl_list_long(text)
    assert detail.vnc.password == PW and detail.vnc.password_set
    assert PW not in repr(detail.vnc)
    assert PW not in cfg.mask_json_passwords(text) and '"passwd": "********"' in (
        cfg.mask_json_passwords(text)
    )


@pytest.mark.django_db(transaction=True)
def test_it_imports_without_logging_the_vnc_password_and_keeps_it(worker, admin_client, tmp_path):
    host = refreshed_host("xen1", tmp_path)
    sim = SimHost(host.sim_dir)
    # One from a config file in the config dir, one known only to xl (its file is elsewhere).
    sim.path("/usr/local/etc/xen/filed.cfg").write_text(
        'type = "hvm"\nname = "filed"\nmemory = 256\nvnc = 1\n'
        f'vnclisten = "0.0.0.0"\n  vncpasswd = "{PW}"\n'
    )
    assert sim.run(["xl", "create", "/usr/local/etc/xen/filed.cfg"]).rc == 0
    sim.path("/root/live.cfg").write_text(
        'type = "hvm"\nname = "live"\nmemory = 256\nvnc = 1\n'
        f'vnclisten = "0.0.0.0"\nvncdisplay = 6\nvncunused = 0\nvncpasswd = "{PW}"\n'
    )
    assert sim.run(["xl", "create", "/root/live.cfg"]).rc == 0
    poll(host)

    for name in ("filed", "live"):
        admin_client.post(reverse("domains:import", args=[host.code]), {"name": name})
        job = wait_for_job(Job.objects.filter(kind="domain.import").latest("created_at"))
        assert job.status == "succeeded", job.error
        assert PW not in _step_text(job)

    live = Domain.objects.get(name="live")
    assert live.versions.get().note == "Imported from xl list -l"
    # The password comes along: the rebuilt config does not leave the console open.
    assert cfg.parse(live.versions.get().text).vncpasswd == PW
    assert live.vnc_password == PW and live.vnc_listen == "0.0.0.0"
    page = admin_client.get(live.get_absolute_url()).content.decode()
    assert PW not in page


@pytest.mark.django_db
def test_it_gives_an_imported_domu_a_new_password_when_xl_hides_it(tmp_path):
    host = create_sim_host("xen2", state_dir=tmp_path / "xen2")
    job = Job.objects.create(kind=actions.IMPORT, title="Import", target_key="x", host=host)
    ctx = JobContext(job)
    vnc = parsers.VncInfo(True, "0.0.0.0", 0, True, True, password=None)
    detail = parsers.DomainDetail(3, "hidden", None, "hvm", 1, 256, 256, [], [], vnc)
    config = _config_from_detail(ctx, detail)
    assert config.vncpasswd and len(config.vncpasswd) == 8
    note = job.steps.get(label="New VNC password")
    assert "did not show hidden's VNC password" in note.output
    assert config.vncpasswd not in note.output


# --- 5. autostart only after a Dom0 reboot, never racing a domU's own job ------------------------


@pytest.mark.django_db(transaction=True)
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


@pytest.mark.django_db(transaction=True)
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
    poll(host)
    SimHost(host.sim_dir).reboot()
    held = made[0]
    assert locks.acquire(held.target_key, 999_999) is None  # a job of the user's runs on it
    try:
        poll(host)
        job = wait_for_job(Job.objects.get(kind="domain.autostart"), timeout=30)
    finally:
        locks.release(held.target_key, 999_999)
    assert job.status == "succeeded", job.error
    skip = job.steps.get(label="Skip first")
    assert "job #999999 is working on it" in skip.output
    creates = [s.argv[2] for s in job.steps.all() if s.argv and s.argv[:2] == ["xl", "create"]]
    assert creates == ["/usr/local/etc/xen/second.cfg"]
    assert locks.holder(made[1].target_key) is None  # released after starting it


# --- 6. a hand-written config in the config dir -------------------------------------------------


@pytest.mark.django_db(transaction=True)
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
    assert PW not in _step_text(job)


@pytest.mark.django_db(transaction=True)
def test_it_replaces_a_config_the_panel_wrote(worker, admin_client, tmp_path):
    host = refreshed_host("xen6", tmp_path)
    sim = SimHost(host.sim_dir)
    stale = cfg.render(cfg.build(cfg.Settings("again", 256, 1, None, None, "bridge0")))
    sim.path("/usr/local/etc/xen/again.cfg").write_text(stale)
    domain, job = create_via_form(admin_client, host, "again")
    assert job.status == "succeeded", job.error
    assert "memory = 1024" in sim.path("/usr/local/etc/xen/again.cfg").read_text()


# --- 7. a dataset that is not the panel's -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
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


@pytest.mark.django_db(transaction=True)
def test_it_adopts_on_redelivery_only_what_its_first_delivery_made(worker, admin_user, tmp_path):
    host = refreshed_host("xen8", tmp_path)
    sim = SimHost(host.sim_dir)
    # A redelivered job whose first delivery never ran zfs create: the dataset is someone's.
    assert sim.run(["zfs", "create", "-V", "20G", "zroot/xen/other-disk0"]).rc == 0
    domain, job = _queued_create(host, "other", admin_user, redelivered=True)
    job = wait_for_job(job)
    assert job.status == "failed" and "this job did not make it" in job.error
    assert not Domain.objects.filter(name="other").exists()

    # A redelivered job whose first delivery ran zfs create before its worker died: its own.
    argv = commands.zfs_create_volume("zroot/xen/mine-disk0", 20 * GIB)
    assert sim.run(argv).rc == 0
    domain, job = _queued_create(
        host, "mine", admin_user, redelivered=True, earlier_zfs_create=True
    )
    job = wait_for_job(job)
    assert job.status == "succeeded", job.error
    assert job.steps.filter(label="Volume exists").exists()
    assert Volume.objects.get(dataset="zroot/xen/mine-disk0").state == "ready"

    # The same, but the dataset there is not the size the job asked for: not adopted.
    assert sim.run(["zfs", "create", "-V", "1G", "zroot/xen/odd-disk0"]).rc == 0
    domain, job = _queued_create(host, "odd", admin_user, redelivered=True, earlier_zfs_create=True)
    job = wait_for_job(job)
    assert job.status == "failed" and "this job did not make it" in job.error
    assert not Domain.objects.filter(name="odd").exists()


@pytest.mark.django_db(transaction=True)
def test_it_names_a_new_volume_past_what_the_last_scan_found(worker, admin_user, tmp_path):
    host = refreshed_host("xen9", tmp_path)
    assert SimHost(host.sim_dir).run(["zfs", "create", "-V", "1G", "zroot/xen/web-disk0"]).rc == 0
    assert new_dataset(host, "web") == "zroot/xen/web-disk0"
    with transaction.atomic():
        scan = queue_scan(host, admin_user)
    assert wait_for_job(scan).status == "succeeded"
    assert new_dataset(host, "web") == "zroot/xen/web-disk1"


# --- 8. delete: idempotent, and for a create that was cancelled ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_deletes_when_the_volume_is_already_gone(worker, admin_client, tmp_path):
    host = refreshed_host("xen10", tmp_path)
    domain, job = create_via_form(admin_client, host, "gone")
    assert job.status == "succeeded", job.error
    assert act(admin_client, domain, "destroy").status == "succeeded"
    assert SimHost(host.sim_dir).run(["zfs", "destroy", "zroot/xen/gone-disk0"]).rc == 0

    admin_client.post(
        reverse("domains:delete", args=[domain.code]), {"confirm": "gone", "destroy_volume": "1"}
    )
    job = wait_for_job(Job.objects.filter(kind="domain.delete").latest("created_at"))
    assert job.status == "succeeded", job.error
    assert job.steps.filter(label="Not on the host").exists()
    assert not Domain.objects.filter(name="gone").exists()
    assert not Volume.objects.filter(dataset="zroot/xen/gone-disk0").exists()


@pytest.mark.django_db(transaction=True)
def test_it_offers_and_runs_delete_for_a_create_cancelled_while_queued(
    worker, admin_client, admin_user, tmp_path
):
    host = refreshed_host("xen11", tmp_path)
    domain, job = _queued_create(host, "halted", admin_user, cancel=True)
    assert wait_for_job(job).status == "cancelled"

    listing = admin_client.get(reverse("domains:list")).content.decode()
    assert "never created" in listing and f"{domain.get_absolute_url()}#delete" in listing
    page = admin_client.get(domain.get_absolute_url()).content.decode()
    assert "nothing of halted exists on the host" in page
    assert ">Start<" not in page and 'id="delete"' in page
    assert 'name="destroy_volume"' not in page  # there is no volume to destroy

    admin_client.post(reverse("domains:delete", args=[domain.code]), {"confirm": "halted"})
    job = wait_for_job(Job.objects.filter(kind="domain.delete").latest("created_at"))
    assert job.status == "succeeded", job.error
    assert not Domain.objects.filter(name="halted").exists()
    assert not Volume.objects.filter(dataset="zroot/xen/halted-disk0").exists()
    assert not [s for s in job.steps.all() if s.argv and s.argv[:2] == ["zfs", "destroy"]]


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_start_a_domu_whose_create_was_cancelled(worker, admin_user, tmp_path):
    host = refreshed_host("xen12", tmp_path)
    domain, job = _queued_create(host, "never", admin_user, cancel=True)
    assert wait_for_job(job).status == "cancelled"
    with transaction.atomic():
        start = actions.queue(domain, actions.START, "Start never")
    start = wait_for_job(start)
    assert start.status == "failed" and "never created" in start.error
    assert not [s for s in start.steps.all() if s.argv and s.argv[:2] == ["xl", "create"]]


# --- 10. a failed shutdown keeps should_run -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_keeps_should_run_when_the_shutdown_fails(worker, admin_client, tmp_path):
    host = refreshed_host("xen13", tmp_path)
    domain, job = create_via_form(admin_client, host, "stubborn", autostart="on")
    assert job.status == "succeeded", job.error
    # The guest has no PV drivers yet, so it cannot be asked to shut down.
    assert act(admin_client, domain, "shutdown").status == "failed"
    domain.refresh_from_db()
    assert domain.should_run

    SimHost(host.sim_dir).set_pv_drivers("stubborn", True)
    assert act(admin_client, domain, "shutdown").status == "succeeded"
    domain.refresh_from_db()
    assert not domain.should_run


# --- 11. VNC passwords masked wherever they sit -------------------------------------------------

ODD_CONFIG = (
    'type = "hvm"\nname = "odd"\nmemory = 256\n'
    f'vnc = 1; vncpasswd = "{PW}"\n'
    "vfb = [ 'vnc=1, vncpasswd=Vfb9pass' ]\n"
)


def test_it_masks_every_vnc_password_the_config_sets():
    masked = cfg.mask_password(ODD_CONFIG)
    assert PW not in masked and "Vfb9pass" not in masked
    assert 'vncpasswd = "********"' in masked and "vncpasswd=********" in masked
    assert 'type = "hvm"' in masked  # the rest is left as it was
    assert cfg.passwords(ODD_CONFIG) == [PW, "Vfb9pass"]
    assert cfg.mask_password('vncpasswd = ""\n') == 'vncpasswd = ""\n'


@pytest.mark.django_db
def test_it_hides_odd_vnc_passwords_on_the_detail_and_history_pages(admin_client):
    host = Host.objects.create(name="xen14", transport="sim", sim_dir="/nonexistent")
    domain = Domain.objects.create(host=host, name="odd", memory_mb=256)
    records.add_version(domain, 'type = "hvm"\nname = "odd"\nmemory = 256\n', note="one")
    records.add_version(domain, ODD_CONFIG, note="two")
    pages = [
        admin_client.get(domain.get_absolute_url()).content.decode(),
        admin_client.get(
            reverse("domains:history", args=[domain.code]) + "?a=1&b=2"
        ).content.decode(),
    ]
    for page in pages:
        assert PW not in page and "Vfb9pass" not in page
        assert "********" in page
