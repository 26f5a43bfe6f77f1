"""The domains API against a real worker and a simulated host: the handbook path (create from an
ISO, follow the job, VNC details, finish install, versions and diff, destroy) and its refusals
(400 with fields, 403 for a viewer, 404 for a stranger, 409 in the wrong state)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from domains.models import Domain
from jobs.models import Job
from tests.domains.support import put_iso, refreshed_host
from tests.support.jobs import wait_for_job
from tests.support.roles import ensure_roles


def _user(django_user_model: Any, name: str, role: str, team: Group | None = None) -> Any:
    user = django_user_model.objects.create_user(name, f"{name}@example.com", "pw-123-abc")
    user.groups.add(Group.objects.get(name=role), *([team] if team else []))
    return user


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _follow(client: Client, response: Any) -> dict[str, Any]:
    """Follow a 202's Location until the job ends; return the job as the API shows it."""
    assert response.status_code == 202, response.content
    location = response["Location"]
    job = Job.objects.get(code=response.json()["code"])
    wait_for_job(job, timeout=30)
    got = client.get(location)
    assert got.status_code == 200
    return got.json()


def _post(client: Client, url: str, data: Any = None) -> Any:
    return client.post(url, data or {}, content_type="application/json")


@pytest.mark.django_db(transaction=True)
def test_the_handbook_path_through_the_api(worker, django_user_model, tmp_path) -> None:
    ensure_roles()
    team = Group.objects.create(name="ops")
    alice = _user(django_user_model, "alice", "operator", team)
    vera = _user(django_user_model, "vera", "viewer", team)
    carol = _user(django_user_model, "carol", "operator")
    host = refreshed_host("xen-api1", tmp_path)
    iso = put_iso(host)
    iso.owner = alice
    iso.save()
    api = _client(alice)

    # A bad name: 400 with the form's message on the field.
    bad = _post(api, reverse("api:domains"), {"host": str(host.code), "name": "no good!"})
    assert bad.status_code == 400 and "name" in bad.json()["fields"], bad.content

    body = {
        "host": str(host.code),
        "name": "apiweb",
        "memory_mb": 512,
        "disk_gib": 2,
        "iso": str(iso.code),
        "vnc_listen": "127.0.0.1",
    }
    job = _follow(api, _post(api, reverse("api:domains"), body))
    assert job["status"] == "succeeded", job
    assert any(step["argv"] for step in job["steps"])
    domain = Domain.objects.get(host=host, name="apiweb")
    Domain.objects.filter(pk=domain.pk).update(team=team)
    url = reverse("api:domain", args=[domain.code])

    shown = api.get(url).json()
    assert shown["state"] == "running" and shown["has_cdrom"] and shown["memory_mb"] == 512
    assert shown["volumes"][0]["boot"] and shown["nics"][0]["bridge"]
    assert "password" not in shown["vnc"]
    listed = api.get(reverse("api:domains"), {"search": "apiw", "state": "running"}).json()
    assert [d["name"] for d in listed["results"]] == ["apiweb"]

    # VNC: the password for alice, not for the viewer.
    vnc = api.get(reverse("api:domain-vnc", args=[domain.code])).json()
    assert vnc["port"] == domain.vnc_port and vnc["password"] and "ssh -N -L" in vnc["tunnel"]
    viewer_vnc = _client(vera).get(reverse("api:domain-vnc", args=[domain.code])).json()
    assert "password" not in viewer_vnc

    # Refusals: start while it runs (409, the page's sentence), a viewer (403), carol (404).
    action = reverse("api:domain-action", args=[domain.code, "start"])
    refused = _post(api, action)
    assert refused.status_code == 409 and "already" in refused.json()["detail"]
    assert _post(_client(vera), action).status_code == 403
    assert _post(_client(carol), action).status_code == 404
    unknown = reverse("api:domain-action", args=[domain.code, "explode"])
    assert _post(api, unknown).status_code == 404

    # Finish install: the cdrom leaves the config (a new version), the domU is re-created.
    finish = reverse("api:domain-action", args=[domain.code, "finish-install"])
    assert _follow(api, _post(api, finish))["status"] == "succeeded"
    assert api.get(url).json()["has_cdrom"] is False
    versions = api.get(reverse("api:domain-versions", args=[domain.code])).json()
    assert [v["number"] for v in versions["results"]] == [2, 1]
    diffed = api.get(reverse("api:domain-version", args=[domain.code, 2]), {"diff": 1}).json()
    assert "--- version 1" in diffed["diff"] and "cdrom" in diffed["diff"]

    # Stop (the simulated guest has no PV drivers: the ACPI power button) and start.
    stop = reverse("api:domain-action", args=[domain.code, "power-button"])
    assert _follow(api, _post(api, stop))["status"] == "succeeded"
    assert api.get(url).json()["state"] != "running"
    assert _post(api, stop).status_code == 409
    start = reverse("api:domain-action", args=[domain.code, "start"])
    assert _follow(api, _post(api, start))["status"] == "succeeded"
    assert api.get(url).json()["state"] == "running"

    # An edit while it runs: saved, waiting for the next start (200, no job).
    edited = api.patch(url, {"memory_mb": 640}, content_type="application/json")
    assert edited.status_code == 200, edited.content
    assert edited.json()["domain"]["restart_pending"] is True
    assert api.patch(url, {"memory_mb": 1}, content_type="application/json").status_code == 400

    # Destroy, then delete with the typed name.
    destroy = reverse("api:domain-action", args=[domain.code, "destroy"])
    assert _follow(api, _post(api, destroy))["status"] == "succeeded"
    wrong = api.delete(url, {"confirm": "nope"}, content_type="application/json")
    assert wrong.status_code == 400 and "confirm" in wrong.json()["fields"]
    deleted = api.delete(url, {"confirm": "apiweb"}, content_type="application/json")
    assert _follow(api, deleted)["status"] == "succeeded"
    assert not Domain.objects.filter(pk=domain.pk).exists()
