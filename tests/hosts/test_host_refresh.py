"""Refreshing a host through each transport fills the host page with the simulator's facts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.db import transaction
from django.urls import reverse

from dom0.sim import SimHost
from hosts.choices import HostStatus, Transport
from hosts.jobs import POLL, queue_refresh
from hosts.models import Host
from hosts.simhosts import create_sim_host
from hosts.tasks import refresh_all_hosts
from jobs.choices import JobStatus
from jobs.models import Job
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def _refresh_via_view(client, host: Host) -> Job:
    response = client.post(reverse("hosts:refresh", args=[host.code]))
    assert response.status_code == 302
    job = Job.objects.on(host).latest("created_at")
    return wait_for_job(job, timeout=60)


def _statuses(host: Host) -> dict[str, str]:
    host.refresh_from_db()
    return {item["key"]: item["status"] for item in host.readiness}


def test_it_fills_the_host_page_from_a_ready_simulated_host(worker, admin_client, tmp_path):
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1", total_mem_mib=32768, cpus=8)
    job = _refresh_via_view(admin_client, host)
    assert job.status == JobStatus.SUCCEEDED, job.error
    host.refresh_from_db()
    assert host.status == HostStatus.OK
    assert host.facts["xen_version"].startswith("4.")
    assert host.facts["nr_cpus"] == 8
    assert host.facts["total_memory_mib"] == 32768
    assert set(_statuses(host).values()) == {"pass"}
    page = admin_client.get(host.get_absolute_url()).content.decode()
    assert "Domain-0" in page and "MiB free of 32768" in page
    assert page.count('data-status="pass"') == 10
    steps = [s.argv for s in job.steps.all() if s.argv]
    assert ["xl", "info"] in steps and ["xl", "list"] in steps


def test_it_shows_failed_readiness_items_with_their_fix(worker, admin_client, tmp_path):
    host = create_sim_host("lab2", profile="unready", state_dir=tmp_path / "lab2")
    job = _refresh_via_view(admin_client, host)
    assert job.status == JobStatus.SUCCEEDED, job.error
    failed = {k for k, v in _statuses(host).items() if v == "fail"}
    assert failed == {"memorylocked", "max_wired"}
    page = admin_client.get(host.get_absolute_url()).content.decode()
    assert "cap_mkdb /etc/login.conf" in page
    assert "vm.max_user_wired=-1" in page


def test_it_fails_the_job_with_the_steps_stderr(worker, admin_client, tmp_path):
    host = create_sim_host("bad", state_dir=tmp_path / "bad")
    SimHost(host.sim_dir).set_faults(fail={"xl info": (3, "libxl: error: something broke")})
    job = _refresh_via_view(admin_client, host)
    assert job.status == JobStatus.FAILED
    step = job.steps.get(argv=["xl", "info"])
    assert step.rc == 3 and "something broke" in step.output
    assert job.error
    page = admin_client.get(job.get_absolute_url()).content.decode()
    assert "something broke" in page


def test_it_marks_an_unreachable_host_with_the_reason(worker, admin_client, tmp_path):
    host = create_sim_host("gone", state_dir=tmp_path / "gone")
    SimHost(host.sim_dir).set_faults(unreachable=True)
    job = _refresh_via_view(admin_client, host)
    assert job.status == JobStatus.FAILED
    host.refresh_from_db()
    assert host.status == HostStatus.UNREACHABLE and host.status_reason
    assert "Unreachable:" in admin_client.get(host.get_absolute_url()).content.decode()


def test_it_fails_the_boot_item_when_xen_is_not_running(worker, admin_client, tmp_path):
    host = create_sim_host("noxen", state_dir=tmp_path / "noxen")
    SimHost(host.sim_dir).set_readiness("xen_running", False)
    job = _refresh_via_view(admin_client, host)
    assert job.status == JobStatus.FAILED
    assert "cannot init xl context" in job.steps.get(argv=["xl", "info"]).output
    assert _statuses(host)["xen_running"] == "fail"
    host.refresh_from_db()
    assert host.status == HostStatus.ERROR


def test_it_refreshes_through_local_transport_and_shims(worker, admin_client, tmp_path):
    host = create_sim_host("loc", transport=Transport.LOCAL, state_dir=tmp_path / "loc")
    assert Path(host.tool_dir, "xl").exists()
    job = _refresh_via_view(admin_client, host)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert set(_statuses(host).values()) == {"pass"}


def test_it_routes_a_hosts_jobs_to_its_own_queue(worker, tmp_path):
    host = create_sim_host("q1", state_dir=tmp_path / "q1")
    Host.objects.filter(pk=host.pk).update(queue="host.test")
    host.refresh_from_db()
    with transaction.atomic():
        job = queue_refresh(host)
    assert job.queue == "host.test"
    assert wait_for_job(job).status == JobStatus.SUCCEEDED


def test_beat_queues_one_poll_per_host_and_never_piles_up(worker, tmp_path):
    for name in ("b1", "b2", "b3"):
        create_sim_host(name, state_dir=tmp_path / name)
    assert refresh_all_hosts() == 3
    polls = list(Job.objects.filter(kind=POLL))
    assert len(polls) == 3
    for job in polls:
        assert wait_for_job(job).status == JobStatus.SUCCEEDED
    assert all(h.facts.get("domains") for h in Host.objects.all())


class TestOverSSH:
    """A refresh against a real OpenSSH sshd whose PATH-independent shims run the simulator."""

    @pytest.fixture
    def ssh_host(self, sshd, tmp_path, settings) -> Host:
        key_dir = Path(settings.VAR_DIR) / "ssh"
        settings.VAR_DIR = tmp_path / "var"
        (settings.VAR_DIR / "ssh").mkdir(parents=True)
        shutil.copy(sshd.client_key_path, settings.VAR_DIR / "ssh" / "id_ed25519")
        del key_dir
        host = create_sim_host("sshx", transport=Transport.LOCAL, state_dir=tmp_path / "sshx")
        Host.objects.filter(pk=host.pk).update(
            transport=Transport.SSH,
            ssh_port=sshd.port,
            ssh_user=sshd.user,
            host_key=sshd.host_key_line,
        )
        host.refresh_from_db()
        return host

    def test_it_fills_the_host_page_over_ssh(self, worker, admin_client, ssh_host):
        job = _refresh_via_view(admin_client, ssh_host)
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert set(_statuses(ssh_host).values()) == {"pass"}
        ssh_host.refresh_from_db()
        assert ssh_host.facts["xen_version"].startswith("4.")
        page = admin_client.get(ssh_host.get_absolute_url()).content.decode()
        assert "Domain-0" in page

    def test_it_refuses_a_changed_host_key(self, worker, admin_client, ssh_host, tmp_path):
        import subprocess

        other = tmp_path / "other_key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True
        )
        pinned = other.with_suffix(".pub").read_text().split()[:2]
        Host.objects.filter(pk=ssh_host.pk).update(host_key=" ".join(pinned))
        job = _refresh_via_view(admin_client, ssh_host)
        assert job.status == JobStatus.FAILED
        assert "host key" in job.error.lower()
        ssh_host.refresh_from_db()
        assert ssh_host.status == HostStatus.UNREACHABLE
