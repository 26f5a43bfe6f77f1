"""Issue 15: the storage API (volumes, ISO images) with a real worker and a simulated host —
create, follow the job, list, destroy; fetch from a local HTTP server; the page's refusals."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts import tokens
from accounts.models import ApiToken
from dom0.sim import SimHost
from domains.models import Domain
from hosts.models import Host
from hosts.simhosts import create_sim_host
from storage.models import IsoImage, Volume
from tests.storage.conftest import http_files, iso_bytes  # noqa: F401  (fixture)
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles")]

ISO = iso_bytes(2 * 2**20)


@pytest.fixture
def host(tmp_path, settings) -> Host:  # type: ignore[no-untyped-def]
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.VOLUME_BUSY_PAUSE = 0.05
    settings.FETCH_ALLOW_PRIVATE = True  # the test HTTP server is on loopback
    return create_sim_host("xen1", state_dir=tmp_path / "xen1")


def _user(django_user_model, name: str, role: str, team: Group | None = None) -> Any:  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(name, password="pw-" + name)
    user.groups.add(Group.objects.get(name=role), *([team] if team else []))
    return user


@pytest.fixture
def people(django_user_model) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    team = Group.objects.create(name="lab")
    return {
        "olga": _user(django_user_model, "olga", "operator", team),
        "vera": _user(django_user_model, "vera", "viewer", team),
        "carol": _user(django_user_model, "carol", "operator"),
    }


def token_client(user: Any) -> Client:
    """A script's client: the user's read+write token in the Authorization header."""
    issued = tokens.issue(user, "test", scope=ApiToken.Scope.WRITE)
    return Client(headers={"Authorization": f"Bearer {issued.secret}"})


def session_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def follow(client: Client, location: str, timeout: float = 30) -> dict[str, Any]:
    """Poll the job at `location` (as a script would) until it ends; return it with its steps."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(location).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job at {location} still {job['status']}: {job['message']}")


def post(client: Client, name: str, data: Any, **kwargs: Any) -> Any:
    return client.post(reverse(name, kwargs=kwargs), data, content_type="application/json")


def delete(client: Client, name: str, data: Any, **kwargs: Any) -> Any:
    return client.delete(reverse(name, kwargs=kwargs), data, content_type="application/json")


# --- volumes ------------------------------------------------------------------------------------
def test_a_script_creates_lists_and_destroys_a_volume(worker, host, people) -> None:
    api = token_client(people["olga"])
    response = post(api, "api:volumes", {"host": str(host.code), "name": "api-disk0", "size": 2})
    assert response.status_code == 202, response.json()
    assert response["Location"].startswith("/api/v1/jobs/")
    assert response.json()["volume"]["dataset"] == "zroot/xen/api-disk0"
    job = follow(api, response["Location"])
    assert job["status"] == "succeeded", job
    assert ["zfs", "create", "-V", "2G", "-o", "volmode=dev", "zroot/xen/api-disk0"] in [
        s["argv"] for s in job["steps"]
    ]
    listed = api.get(reverse("api:volumes"), {"host": str(host.code), "search": "api-disk"})
    rows = listed.json()["results"]
    assert listed.json()["count"] == 1 and rows[0]["state"] == "ready"
    assert (rows[0]["size"], rows[0]["size_bytes"], rows[0]["owner"]) == (
        "2 GiB",
        2 * 2**30,
        "olga",
    )
    detail = api.get(rows[0]["url"]).json()
    assert detail["host"] == {"code": str(host.code), "name": "xen1"}
    assert (detail["in_use"], detail["in_use_by"], detail["sparse"]) == (None, [], False)

    refused = delete(api, "api:volume", {"confirm": "api-disk"}, code=detail["code"])
    assert refused.status_code == 400
    assert refused.json()["fields"]["confirm"] == [
        "Type the volume name (api-disk0) to destroy it."
    ]
    response = delete(api, "api:volume", {"confirm": "api-disk0"}, code=detail["code"])
    assert response.status_code == 202, response.json()
    assert follow(api, response["Location"])["status"] == "succeeded"
    assert api.get(detail["url"]).status_code == 404
    names = SimHost(host.sim_dir).run(["zfs", "list", "-H", "-o", "name", "-t", "volume"]).stdout
    assert "zroot/xen/api-disk0" not in names


def test_volume_refusals_are_the_pages(host, people) -> None:
    olga = session_client(people["olga"])
    bad = post(olga, "api:volumes", {"host": str(host.code), "name": "x", "size": "lots"})
    assert bad.status_code == 400
    body = bad.json()
    assert body["code"] == "invalid" and set(body["fields"]) == {"size"}
    nohost = post(olga, "api:volumes", {"host": "nope", "name": "x", "size": 1})
    assert nohost.status_code == 400 and "host" in nohost.json()["fields"]
    assert post(olga, "api:volumes", ["not", "an", "object"]).status_code == 400

    viewer = session_client(people["vera"])
    denied = post(viewer, "api:volumes", {"host": str(host.code), "name": "x", "size": 1})
    assert denied.status_code == 403 and denied.json()["detail"] == "Your role is read-only."

    lab = Group.objects.get(name="lab")
    volume = Volume.objects.create(
        host=host, dataset="zroot/xen/web1-disk0", size_bytes=2**30, state="ready",
        owner=people["olga"], team=lab,
    )  # fmt: skip
    Domain.objects.create(
        host=host, name="web1", owner=people["olga"], memory_mb=512, vcpus=1, volume=volume
    )
    carol = session_client(people["carol"])
    assert carol.get(reverse("api:volume", args=[volume.code])).status_code == 404
    assert (
        delete(carol, "api:volume", {"confirm": "web1-disk0"}, code=volume.code).status_code == 404
    )
    assert carol.get(reverse("api:volumes")).json()["count"] == 0
    assert viewer.get(reverse("api:volumes")).json()["count"] == 1  # the team's
    detail = viewer.get(reverse("api:volume", args=[volume.code])).json()
    assert detail["in_use"] == "the domU web1 uses it as a disk"
    assert [u["name"] for u in detail["in_use_by"]] == ["web1"]
    busy = delete(olga, "api:volume", {"confirm": "web1-disk0"}, code=volume.code)
    assert busy.status_code == 409
    assert busy.json() == {
        "detail": "zroot/xen/web1-disk0 cannot be destroyed: the domU web1 uses it as a disk.",
        "code": "conflict",
    }
    assert Volume.objects.filter(pk=volume.pk, state="ready").exists()


# --- ISO images ---------------------------------------------------------------------------------
def test_a_script_fetches_and_deletes_an_iso(worker, host, people, http_files) -> None:  # noqa: F811
    # A signed link: the query is as secret as a password (the test server serves path+query).
    http_files.files["/FreeBSD-14.1-bootonly.iso?token=s3cret"] = ISO
    digest = hashlib.sha256(ISO).hexdigest()
    api = token_client(people["olga"])
    url = f"{http_files.url}/FreeBSD-14.1-bootonly.iso?token=s3cret"
    response = post(api, "api:isos", {"host": str(host.code), "url": url, "checksum": digest})
    assert response.status_code == 202, response.json()
    assert response.json()["iso"]["url"].endswith("/FreeBSD-14.1-bootonly.iso?***")
    job = follow(api, response["Location"])
    assert job["status"] == "succeeded", (job["error"], job["steps"])
    listed = api.get(reverse("api:isos"), {"search": "bootonly", "state": "ready"}).json()
    assert listed["count"] == 1
    iso = api.get(listed["results"][0]["api_url"]).json()
    assert (iso["sha256"], iso["size_bytes"], iso["source"]) == (digest, len(ISO), "url")
    assert "s3cret" not in str(iso) and iso["in_use"] is None

    again = post(api, "api:isos", {"host": str(host.code), "url": url})
    assert again.status_code == 400 and "file_name" in again.json()["fields"]

    response = delete(api, "api:iso", {"confirm": "FreeBSD-14.1-bootonly.iso"}, code=iso["code"])
    assert response.status_code == 202, response.json()
    assert follow(api, response["Location"])["status"] == "succeeded"
    assert not IsoImage.objects.filter(code=iso["code"]).exists()
    assert (
        not SimHost(host.sim_dir).path("/var/lib/xenpanel/isos/FreeBSD-14.1-bootonly.iso").exists()
    )


def test_iso_refusals_and_forgetting_a_failed_image(host, people) -> None:
    olga, viewer = session_client(people["olga"]), session_client(people["vera"])
    bad = post(olga, "api:isos", {"host": str(host.code), "url": "file:///etc/passwd"})
    assert bad.status_code == 400 and "url" in bad.json()["fields"]
    denied = post(viewer, "api:isos", {"host": str(host.code), "url": "https://example.org/a.iso"})
    assert denied.status_code == 403

    lab = Group.objects.get(name="lab")
    used = IsoImage.objects.create(
        host=host, file_name="in.iso", source="url", state="ready", owner=people["olga"], team=lab
    )
    Domain.objects.create(
        host=host, name="web1", owner=people["olga"], memory_mb=512, vcpus=1, iso=used
    )
    carol = session_client(people["carol"])
    assert carol.get(reverse("api:iso", args=[used.code])).status_code == 404
    assert delete(viewer, "api:iso", {"confirm": "in.iso"}, code=used.code).status_code == 403
    busy = delete(olga, "api:iso", {"confirm": "in.iso"}, code=used.code)
    assert busy.status_code == 409
    assert (
        busy.json()["detail"]
        == "in.iso cannot be deleted: the domU web1 has it attached as a CD-ROM."
    )

    failed = IsoImage.objects.create(
        host=host, file_name="broken.iso", source="url", state="failed", owner=people["olga"]
    )
    gone = olga.delete(reverse("api:iso", args=[failed.code]) + "?confirm=broken.iso")
    assert gone.status_code == 204  # nothing of it on the host: only the row goes, like the page
    assert not IsoImage.objects.filter(pk=failed.pk).exists()
