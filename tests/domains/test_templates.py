"""Templates end to end (real worker, simulator): a stopped domU becomes a template; a running
one is refused; a template with clones cannot be deleted, without them it can."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from dom0.sim import SimHost
from domains.clones import actions as clone_actions
from domains.models import Domain, DomainTemplate
from hosts.models import Host
from jobs.models import Job
from storage.models import Volume
from tests.domains.support import act, create_via_form, job_log_text, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def zfs(host: Host, *args: str) -> str:
    return SimHost(host.sim_dir).run(["zfs", *args]).stdout


def make_template(client, host: Host, name: str = "base") -> tuple[DomainTemplate, Job]:
    """Create a domU, stop it, and make it a template through its page's form."""
    domain, job = create_via_form(client, host, name)
    assert job.status == "succeeded", job.error
    assert act(client, domain, "destroy").status == "succeeded"
    response = client.post(
        reverse("domains:make_template", args=[domain.code]), {"confirm": name, "name": name}
    )
    assert response.status_code == 302
    job = wait_for_job(Job.objects.filter(kind="domain.make_template").latest("created_at"))
    assert job.status == "succeeded", job_log_text(job)
    return DomainTemplate.objects.get(host=host, name=name), job


def test_it_makes_a_template_of_a_stopped_domu(worker, admin_client, tmp_path):
    host = refreshed_host("xen-tpl", tmp_path)
    template, job = make_template(admin_client, host)
    dataset = "zroot/xen/base-disk0"
    # One atomic zfs snapshot, then readonly, then the config file is gone from the host.
    argvs = [s.argv for s in job.steps.all() if s.argv]
    assert ["zfs", "snapshot", f"{dataset}@template"] in argvs
    assert f"{dataset}@template" in zfs(host, "list", "-H", "-t", "snapshot", "-o", "name")
    assert zfs(host, "get", "-H", "-o", "value", "readonly", dataset).strip() == "on"
    assert not SimHost(host.sim_dir).path(f"{host.config_dir}/base.cfg").exists()
    # The domU became the template: its row is gone, its job history stays (labelled).
    assert not Domain.objects.filter(host=host, name="base").exists()
    assert job.targets.get(role="domain").label == "base"
    assert template.state == DomainTemplate.State.READY
    assert [v.dataset for v in template.volumes.all()] == [dataset]
    assert Volume.objects.get(dataset=dataset).readonly
    assert 'name = "base"' in template.config_text and template.memory_mb == 1024
    page = admin_client.get(template.get_absolute_url()).content.decode()
    assert f"{dataset}@template" in page and "None: no disk is a clone" in page
    listing = admin_client.get(reverse("domains:templates")).content.decode()
    assert 'data-template="base"' in listing


def test_it_refuses_to_make_a_template_of_a_running_domu(worker, admin_client, tmp_path):
    host = refreshed_host("xen-tplrun", tmp_path)
    domain, job = create_via_form(admin_client, host, "busy")
    assert job.status == "succeeded", job.error
    url = reverse("domains:make_template", args=[domain.code])
    response = admin_client.post(url, {"confirm": "busy"}, follow=True)
    assert "shut it down first" in response.content.decode()
    assert not Job.objects.filter(kind="domain.make_template").exists()
    # Queued anyway (the page was stale): the job looks at xl list and changes nothing.
    with transaction.atomic():
        job = clone_actions.queue_make_template(domain, "busy", user=None)
    job = wait_for_job(job)
    assert job.status == "failed"
    assert "is running (it is in xl list)" in job.error and "Nothing was changed" in job.error
    assert "@template" not in zfs(host, "list", "-H", "-t", "snapshot", "-o", "name")
    assert Domain.objects.filter(pk=domain.pk).exists()
    assert not DomainTemplate.objects.exists()


def test_it_says_what_is_on_the_host_when_a_template_step_fails(worker, admin_client, tmp_path):
    host = refreshed_host("xen-tplfail", tmp_path)
    domain, job = create_via_form(admin_client, host, "half")
    assert act(admin_client, domain, "destroy").status == "succeeded"
    SimHost(host.sim_dir).set_faults(
        fail={"zfs set": (1, "cannot set property: permission denied")}
    )
    with transaction.atomic():
        job = clone_actions.queue_make_template(domain, "half", user=None)
    job = wait_for_job(job)
    assert job.status == "failed"
    assert "the snapshots zroot/xen/half-disk0@template exist" in job.error
    assert "readonly=on is set on none of its volumes" in job.error
    assert "stays a domU" in job.error
    assert Domain.objects.filter(pk=domain.pk).exists() and not DomainTemplate.objects.exists()
