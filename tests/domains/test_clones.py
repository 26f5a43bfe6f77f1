"""Clones end to end (real worker, simulator): N domUs from a template in one action, each
booting with its own MAC and disk clone; the template cannot be deleted while they exist;
quotas for all N at once; promote."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.urls import reverse

from accounts.models import Quota
from dom0.sim import SimHost
from domains.clones import actions as clone_actions
from domains.clones import logic
from domains.models import Domain, DomainTemplate
from hosts.models import Host
from jobs.models import Job
from storage.models import Volume
from tests.domains.support import job_log_text, refreshed_host
from tests.domains.test_templates import make_template, zfs
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)
TPL_SNAP = "zroot/xen/base-disk0@template"


def clone_batch(client, template: DomainTemplate, **overrides) -> tuple[object, list[Job]]:
    """POST the template picker; return the response and the CLONE jobs (waited for)."""
    before = set(Job.objects.filter(kind="domain.clone").values_list("pk", flat=True))
    data = {
        "template": str(template.code), "name": "web-{n}", "count": 3, "start": 1,
        "memory_mb": 512, "vcpus": 1, "bridge_0": "bridge0",
    } | overrides  # fmt: skip
    response = client.post(reverse("domains:clone_new"), data)
    jobs = Job.objects.filter(kind="domain.clone").exclude(pk__in=before).order_by("pk")
    return response, [wait_for_job(j, timeout=60) for j in jobs]


def macs_of(host: Host, name: str) -> list[str]:
    detail = json.loads(SimHost(host.sim_dir).run(["xl", "list", "-l", name]).stdout)[0]
    return [nic.get("mac", "") for nic in detail["config"].get("nics", [])]


def delete_domain(client, domain: Domain) -> Job:
    url = reverse("domains:delete", args=[domain.code])
    client.post(url, {"confirm": domain.name, "destroy_volume": "1"})
    return wait_for_job(Job.objects.filter(kind="domain.delete").latest("created_at"))


def test_it_creates_three_clones_in_one_action_each_with_its_own_mac_and_disk(
    worker, admin_client, tmp_path
):
    host = refreshed_host("xen-clone", tmp_path)
    template, _ = make_template(admin_client, host)
    picker = admin_client.get(reverse("domains:clone_new") + f"?template={template.code}")
    assert picker.status_code == 200 and 'name="bridge_0"' in picker.content.decode()
    response, jobs = clone_batch(admin_client, template)
    assert response.status_code == 302
    assert len(jobs) == 3 and all(j.status == "succeeded" for j in jobs), [
        job_log_text(j) for j in jobs
    ]
    listing = SimHost(host.sim_dir).run(["xl", "list"]).stdout
    seen = set()
    for name in ("web-1", "web-2", "web-3"):
        assert name in listing
        domain = Domain.objects.get(host=host, name=name)
        assert domain.template == template and domain.state == "running"
        macs = macs_of(host, name)
        assert len(macs) == 1 and macs[0].startswith("00:16:3e:")
        assert macs[0] == domain.nics.get().mac
        seen |= set(macs)
        dataset = f"zroot/xen/{name}-disk0"
        assert zfs(host, "get", "-H", "-o", "value", "origin", dataset).strip() == TPL_SNAP
        assert domain.volume.dataset == dataset and domain.volume.origin == TPL_SNAP
        assert domain.versions.get().note == "Cloned from template base"
        assert "cdrom" not in domain.versions.get().text
    assert len(seen) == 3  # every clone has its own MAC
    displays = set(Domain.objects.filter(host=host).values_list("vnc_display", flat=True))
    assert len(displays) == 3
    page = admin_client.get(template.get_absolute_url()).content.decode()
    assert all(f">web-{n}</a>" in page for n in (1, 2, 3))


def test_it_refuses_to_delete_a_template_while_clones_exist(worker, admin_client, tmp_path):
    host = refreshed_host("xen-cldel", tmp_path)
    template, _ = make_template(admin_client, host)
    _, jobs = clone_batch(admin_client, template, count=2)
    assert all(j.status == "succeeded" for j in jobs)
    url = reverse("domains:template_delete", args=[template.code])
    page = admin_client.post(url, {"confirm": "base"}, follow=True).content.decode()
    assert "base has clones: web-1, web-2" in page
    assert not Job.objects.filter(kind="template.delete").exists()
    # Forced past the page (the panel's rows out of date): zfs itself refuses.
    with transaction.atomic():
        job = clone_actions.queue_template_delete(template, user=None)
    job = wait_for_job(job)
    assert job.status == "failed"
    assert "dependent clones" in job_log_text(job)
    template.refresh_from_db()
    assert template.state == DomainTemplate.State.READY
    assert "zroot/xen/base-disk0" in zfs(host, "list", "-H", "-o", "name")
    # Without its clones (deleted with their volumes) it can be deleted.
    for domain in Domain.objects.filter(host=host):
        assert delete_domain(admin_client, domain).status == "succeeded"
    assert not logic.dependents(template)
    admin_client.post(url, {"confirm": "base"})
    job = wait_for_job(Job.objects.filter(kind="template.delete").latest("created_at"))
    assert job.status == "succeeded", job_log_text(job)
    assert not DomainTemplate.objects.exists()
    assert "base-disk0" not in zfs(host, "list", "-H", "-o", "name", "-t", "all")
    assert not Volume.objects.filter(dataset="zroot/xen/base-disk0").exists()


def test_it_checks_the_quota_for_all_clones_at_once(worker, admin_client, client, tmp_path):
    from django.contrib.auth.models import Group

    from tests.support.roles import ensure_roles

    ensure_roles()
    host = refreshed_host("xen-clquota", tmp_path)
    template, _ = make_template(admin_client, host)
    olga = type(template.owner).objects.create_user("olga", password="pw-olga-123")
    olga.groups.add(Group.objects.get(name="operator"))
    DomainTemplate.objects.filter(pk=template.pk).update(owner=olga)
    Quota.objects.create(user=olga, memory_mb=1024, domus=5)
    client.force_login(olga)
    response, jobs = clone_batch(client, template, count=3)
    assert response.status_code == 200 and not jobs
    error = response.context["form"].errors["memory_mb"][0]
    assert error.startswith("3 clones: Quota exceeded for memory") and "1.5 GiB" in error
    assert not Domain.objects.filter(host=host).exists()
    assert not Volume.objects.filter(dataset__startswith="zroot/xen/web-").exists()
    response, jobs = clone_batch(client, template, count=2)
    assert response.status_code == 302 and len(jobs) == 2


def test_it_promotes_a_clone_and_reads_the_new_origins_back(worker, admin_client, tmp_path):
    host = refreshed_host("xen-promote", tmp_path)
    template, _ = make_template(admin_client, host)
    _, jobs = clone_batch(admin_client, template, count=2)
    assert all(j.status == "succeeded" for j in jobs)
    web1 = Domain.objects.get(host=host, name="web-1")
    admin_client.post(reverse("domains:promote", args=[web1.code]))
    job = wait_for_job(Job.objects.filter(kind="domain.promote").latest("created_at"))
    assert job.status == "succeeded", job_log_text(job)
    assert ["zfs", "promote", "zroot/xen/web-1-disk0"] in [s.argv for s in job.steps.all()]
    moved = "zroot/xen/web-1-disk0@template"
    origins = dict(Volume.objects.filter(host=host).values_list("dataset", "origin"))
    assert origins == {
        "zroot/xen/base-disk0": moved,
        "zroot/xen/web-1-disk0": "",
        "zroot/xen/web-2-disk0": moved,
    }
    assert zfs(host, "get", "-H", "-o", "value", "origin", "zroot/xen/base-disk0").strip() == moved
    # The template's snapshot moved: it makes no more clones, and nothing depends on it now.
    template.refresh_from_db()
    assert template.snapshot == ""  # the promote job says so: its own snapshot is gone
    assert "can make no more clones" in logic.why_not_usable(template)
    assert not logic.dependents(template)
