"""VNC passwords stay secret: out of reprs and job logs on import, masked on every page.

An imported domU keeps the password xl reports (or gets a new one when xl hides it), and every
password a config sets (`vncpasswd` lines, `vfb` entries) is masked on the detail and history
pages.
"""

# ruff: noqa: S104 (0.0.0.0 here is a vnclisten value in a config, not a socket we bind)

from __future__ import annotations

import pytest
from django.urls import reverse

from dom0 import parsers
from dom0.sim import SimHost
from domains import actions, cfg, records
from domains.jobs.adopt import _config_from_detail
from domains.models import Domain
from hosts.models import Host
from hosts.simhosts import create_sim_host
from jobs.context import JobContext
from jobs.enqueue import Target, add_targets
from jobs.models import Job
from tests.domains.support import job_log_text, poll, refreshed_host
from tests.support.jobs import wait_for_job

PW = "Xq7mPw3k"

# --- importing a domU: the password comes along, the logs never show it -------------------------


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
        assert PW not in job_log_text(job)

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
    job = Job.objects.create(kind=actions.IMPORT, title="Import")
    add_targets(job, [Target("host", host, lock="x")])
    ctx = JobContext(job)
    vnc = parsers.VncInfo(True, "0.0.0.0", 0, True, True, password=None)
    detail = parsers.DomainDetail(3, "hidden", None, "hvm", 1, 256, 256, [], [], vnc)
    config = _config_from_detail(ctx, detail)
    assert config.vncpasswd and len(config.vncpasswd) == 8
    note = job.steps.get(label="New VNC password")
    assert "did not show hidden's VNC password" in note.output
    assert config.vncpasswd not in note.output


# --- every password a config sets is masked wherever it is shown --------------------------------

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
