"""Day-2 work through the domains API against a real worker and simulated hosts: snapshots (take,
list, roll back with the typed confirmation, delete), cd insert/eject, the migration checklist and
a storage migration between two hosts, a template made of a stopped domU and two clones of it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from dom0.sim import SimHost
from domains.models import Domain, DomainSnapshot, DomainTemplate
from jobs.models import Job
from tests.domains.snapshot_support import disk, host_snapshots
from tests.domains.support import act, create_via_form, job_log_text, put_iso, refreshed_host
from tests.domains.test_migrate_live import assert_on_exactly
from tests.support.jobs import wait_for_job
from tests.support.roles import ensure_roles

pytestmark = pytest.mark.django_db(transaction=True)


def _post(client: Client, url: str, data: Any = None) -> Any:
    return client.post(url, data or {}, content_type="application/json")


def _follow(client: Client, response: Any, timeout: float = 60) -> dict[str, Any]:
    """Wait for the job a 202 names; return it as its `Location` shows it (with steps)."""
    assert response.status_code == 202, response.content
    job = Job.objects.get(code=response.json()["code"])
    wait_for_job(job, timeout=timeout)
    got = client.get(response["Location"])
    assert got.status_code == 200
    return got.json()


def _argvs(job: dict[str, Any]) -> list[list[str]]:
    return [step["argv"] for step in job["steps"] if step["argv"]]


def _ok(job: dict[str, Any]) -> None:
    assert job["status"] == "succeeded", job["error"] + job_log_text(
        Job.objects.get(code=job["code"])
    )


def test_snapshots_and_the_cd_through_the_api(worker, admin_client, tmp_path) -> None:
    host = refreshed_host("xen-d2a", tmp_path)
    first, second = put_iso(host), put_iso(host, "rescue.iso")
    domain, job = create_via_form(admin_client, host, "snap1", iso=str(first.code), disk_gib=1)
    assert job.status == "succeeded", job.error
    api = admin_client
    code = domain.code

    # Eject the installer CD from the running domU, insert another.
    eject = reverse("api:domain-action", args=[code, "eject-cd"])
    done = _follow(api, _post(api, eject))
    _ok(done)
    assert ["xl", "cd-eject", "snap1", "hdc"] in _argvs(done)
    insert = reverse("api:domain-action", args=[code, "insert-cd"])
    assert _post(api, insert).status_code == 400  # no ISO named
    assert _post(api, insert, {"iso": str(domain.code)}).status_code == 409  # not an ISO
    done = _follow(api, _post(api, insert, {"iso": str(second.code)}))
    _ok(done)
    assert ["xl", "cd-insert", "snap1", "hdc", second.path] in _argvs(done)

    # Take a snapshot of the running domU, list it.
    snapshots = reverse("api:domain-snapshots", args=[code])
    bad = _post(api, snapshots, {"name": "no good!"})
    assert bad.status_code == 400 and "name" in bad.json()["fields"]
    dataset = domain.volume.dataset
    disk(host, dataset).write_bytes(b"before")
    taken = _post(api, snapshots, {"name": "s1"})
    assert taken.json()["snapshot"] == "s1"
    _ok(_follow(api, taken))
    assert "s1" in host_snapshots(host, dataset)
    listed = api.get(snapshots).json()
    assert [(s["name"], s["state"]) for s in listed["results"]] == [("s1", "ready")]
    assert _post(api, snapshots, {"name": "s1"}).status_code == 400  # the name is taken

    # Roll back: refused while it runs (409), then with a wrong confirmation (400), then done.
    disk(host, dataset).write_bytes(b"after!")
    rollback = reverse("api:domain-rollback", args=[code, "s1"])
    refused = _post(api, rollback, {"confirm": "s1"})
    assert refused.status_code == 409, refused.content
    _ok(_follow(api, _post(api, reverse("api:domain-action", args=[code, "destroy"]))))
    wrong = _post(api, rollback, {"confirm": "s2"})
    assert wrong.status_code == 400 and "confirm" in wrong.json()["fields"]
    done = _follow(api, _post(api, rollback, {"confirm": "s1"}))
    _ok(done)
    assert ["zfs", "rollback", "-r", f"{dataset}@s1"] in _argvs(done)
    assert disk(host, dataset).read_bytes()[:6] == b"before"

    # Delete it: gone from the host and the list; a second delete finds nothing (404).
    one = reverse("api:domain-snapshot", args=[code, "s1"])
    _ok(_follow(api, api.delete(one)))
    assert "s1" not in host_snapshots(host, dataset)
    assert api.get(snapshots).json()["count"] == 0
    assert not DomainSnapshot.objects.filter(domain=domain).exists()
    assert api.delete(one).status_code == 404


def test_the_migration_checks_and_a_storage_migration_through_the_api(
    worker, admin_client, tmp_path
) -> None:
    # A full refresh reads the pools: the checklist wants room on the receiver's pool.
    a = refreshed_host("xen-a", tmp_path, full=True)
    b = refreshed_host("xen-b", tmp_path, full=True)
    domain, job = create_via_form(admin_client, a, "mv1", disk_gib=1)
    assert job.status == "succeeded", job.error
    data = b"carried across" * 1000
    disk(a, domain.volume.dataset).write_bytes(data)
    api = admin_client
    checks_url = reverse("api:domain-migrate-checks", args=[domain.code])

    assert api.get(checks_url).status_code == 400  # no target
    assert api.get(checks_url, {"target": str(a.code)}).status_code == 400  # its own host
    plan = api.get(checks_url, {"target": str(b.code)}).json()
    assert plan["mode"] == "storage" and plan["target_name"] == "xen-b", plan
    failed = [c for c in plan["checks"] if c["status"] == "fail"]
    assert plan["checks"] and not failed, failed

    migrate = reverse("api:domain-migrate", args=[domain.code])
    assert _post(api, migrate, {"target": "nope"}).status_code == 400
    done = _follow(api, _post(api, migrate, {"target": str(b.code), "downtime": "pause"}), 120)
    _ok(done)
    assert any(argv[:2] == ["zfs", "send"] for argv in _argvs(done))
    assert_on_exactly(domain, b, a)
    assert disk(b, domain.volume.dataset).read_bytes()[: len(data)] == data
    shown = api.get(reverse("api:domain", args=[domain.code])).json()
    assert shown["host"] == str(b.code) and shown["state"] == "running"


def test_a_template_and_two_clones_through_the_api(
    worker, admin_client, django_user_model, tmp_path
) -> None:
    ensure_roles()
    host = refreshed_host("xen-d2t", tmp_path)
    domain, job = create_via_form(admin_client, host, "base", disk_gib=1)
    assert job.status == "succeeded", job.error
    team = Group.objects.create(name="t2")
    viewer = django_user_model.objects.create_user("vic", password="pw-vic-123")
    viewer.groups.add(Group.objects.get(name="viewer"), team)
    stranger = django_user_model.objects.create_user("sid", password="pw-sid-123")
    stranger.groups.add(Group.objects.get(name="operator"))
    Domain.objects.filter(pk=domain.pk).update(team=team)
    api = admin_client
    make = reverse("api:domain-make-template", args=[domain.code])

    # Refused: a wrong confirmation (400), while it runs (409, the page's sentence).
    wrong = _post(api, make, {"confirm": "other"})
    assert wrong.status_code == 400 and "confirm" in wrong.json()["fields"]
    running = _post(api, make, {"confirm": "base"})
    assert running.status_code == 409 and "shut it down first" in running.json()["detail"]
    assert act(admin_client, domain, "destroy").status == "succeeded"
    viewer_api, stranger_api = Client(), Client()
    viewer_api.force_login(viewer)
    stranger_api.force_login(stranger)
    assert _post(viewer_api, make, {"confirm": "base"}).status_code == 403
    assert _post(stranger_api, make, {"confirm": "base"}).status_code == 404
    done = _follow(api, _post(api, make, {"confirm": "base"}))
    _ok(done)
    template = DomainTemplate.objects.get(host=host, name="base")
    assert done["result"]["template"] == str(template.code)
    assert not Domain.objects.filter(pk=domain.pk).exists()

    listed = api.get(reverse("api:domain-templates"), {"search": "bas"}).json()
    assert [t["name"] for t in listed["results"]] == ["base"]
    shown = listed["results"][0]
    assert shown["source"] == "base" and shown["clones_count"] == 0 and shown["why_not"] == ""
    assert shown["volumes"][0]["snapshot"] == "zroot/xen/base-disk0@template"
    one = reverse("api:domain-template", args=[template.code])
    assert viewer_api.get(one).status_code == 200 and stranger_api.get(one).status_code == 404
    assert stranger_api.get(reverse("api:domain-templates")).json()["count"] == 0

    # Two clones in one request: 400 when the names clash, 403 for the viewer, then 202.
    clones = reverse("api:domain-template-clones", args=[template.code])
    assert _post(viewer_api, clones, {"name": "web-{n}", "count": 2}).status_code == 403
    assert _post(stranger_api, clones, {"name": "web-{n}", "count": 2}).status_code == 404
    clash = _post(api, clones, {"name": "web", "count": 2})
    assert clash.status_code == 400 and "name" in clash.json()["fields"], clash.content
    answer = _post(api, clones, {"name": "web-{n}", "count": 2, "memory_mb": 512})
    assert answer.status_code == 202, answer.content
    batch = answer.json()
    assert len(batch["jobs"]) == 2 and batch["jobs"][0]["code"] == batch["code"]
    assert answer["Location"] == reverse("api:job", args=[batch["code"]])
    for code in (j["code"] for j in batch["jobs"]):
        wait_for_job(Job.objects.get(code=code), timeout=60)
        _ok(api.get(reverse("api:job", args=[code])).json())
    listing = SimHost(host.sim_dir).run(["xl", "list"]).stdout
    for n, code in enumerate(batch["domains"], start=1):
        clone = Domain.objects.get(code=code)
        assert clone.name == f"web-{n}" and clone.template == template and clone.memory_mb == 512
        assert clone.name in listing
        origin = SimHost(host.sim_dir).run(
            ["zfs", "get", "-H", "-o", "value", "origin", clone.volume.dataset]
        )
        assert origin.stdout.strip() == "zroot/xen/base-disk0@template"
    detail = api.get(one).json()
    assert detail["clones"] == ["web-1", "web-2"] and detail["clones_count"] == 2
    assert "s3cretPw" not in json.dumps(detail)  # the config's VNC password is masked

    # The template cannot be deleted while its clones exist (409, the page's sentence).
    deleting = api.delete(one, {"confirm": "base"}, content_type="application/json")
    assert deleting.status_code == 409 and "has clones: web-1, web-2" in deleting.json()["detail"]

    # Promote web-1's disk: the template's snapshot moves to it.
    web1 = Domain.objects.get(host=host, name="web-1")
    promoted = _post(api, reverse("api:domain-promote", args=[web1.code]))
    assert "zfs promote moves" in promoted.json()["effects"]
    done = _follow(api, promoted)
    _ok(done)
    assert ["zfs", "promote", web1.volume.dataset] in _argvs(done)
    assert "can make no more clones" in api.get(one).json()["why_not"]
    again = _post(api, reverse("api:domain-promote", args=[web1.code]))
    assert again.status_code == 409 and "nothing to promote" in again.json()["detail"]
