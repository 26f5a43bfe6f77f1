"""Quotas at and past each limit, on every action that takes the resource (create, start, volume
create, upload, fetch), for a user's own quota and their team's.

The views run for real; a job a view queues is created but not sent (the transaction of a
`django_db` test never commits), so these tests need no worker.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts import quotas
from accounts.models import Quota
from domains.models import Domain
from hosts.models import Host
from hosts.simhosts import create_sim_host
from jobs.models import Job
from storage.models import IsoImage, Volume
from tests.domains.support import form_data
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]
GIB = 2**30


@pytest.fixture
def host(tmp_path, settings) -> Host:  # type: ignore[no-untyped-def]
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return create_sim_host("xen1", state_dir=tmp_path / "xen1")


def operator(django_user_model: Any, name: str, *teams: Group) -> Any:
    user = django_user_model.objects.create_user(name)
    user.groups.add(Group.objects.get(name="operator"), *teams)
    return user


@pytest.fixture
def alice(django_user_model):  # type: ignore[no-untyped-def]
    return operator(django_user_model, "alice")


@pytest.fixture
def client(alice) -> Client:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(alice)
    return c


def running(host: Host, owner: Any, name: str, memory_mb: int, vcpus: int = 1, **kw: Any) -> Domain:
    return Domain.objects.create(
        host=host, name=name, owner=owner, memory_mb=memory_mb, vcpus=vcpus, state="running",
        should_run=True, vnc_display=Domain.objects.filter(host=host).count() + 1, **kw,
    )  # fmt: skip


def new_domu(client: Client, host: Host, name: str, **overrides: Any) -> Any:
    return client.post(reverse("domains:new"), form_data(host, name, **overrides))


def field_errors(response: Any) -> dict[str, list[str]]:
    form = response.context["form"]
    return {k: [str(e) for e in v] for k, v in form.errors.items()}


# --- the rule itself ------------------------------------------------------------------------------
def test_it_names_the_resource_the_limit_and_the_use_when_refusing(alice, host) -> None:
    Quota.objects.create(user=alice, memory_mb=2048)
    running(host, alice, "a", 1536)
    with pytest.raises(quotas.QuotaExceeded) as caught:
        quotas.check(alice, memory_mb=1024)
    text = str(caught.value)
    assert "memory" in text and "user alice" in text
    # One size format everywhere (dom0.units): MiB figures in binary units, never "20G".
    assert "limit of user alice is 2 GiB, 1.5 GiB in use, 512 MiB left" in text
    assert "needs 1 GiB" in text


def test_it_lets_admins_and_unlimited_resources_through(alice, host, admin_user) -> None:
    Quota.objects.create(user=alice, domus=0)
    quotas.check(alice, memory_mb=10**6, vcpus=512, disk_bytes=10**15)  # no limit on these
    quotas.check(admin_user, domus=50)
    with pytest.raises(quotas.QuotaExceeded):
        quotas.check(alice, domus=1)


# --- domUs: create --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("limit", "field", "at", "past"),
    [
        ({"memory_mb": 2048}, "memory_mb", {"memory_mb": 1024}, {"memory_mb": 1025}),
        ({"vcpus": 3}, "vcpus", {"vcpus": 2}, {"vcpus": 3}),
        ({"domus": 2}, "name", {}, None),
        ({"disk_bytes": 30 * GIB}, "disk_gib", {"disk_gib": 30}, {"disk_gib": 31}),
    ],
)
def test_it_refuses_a_new_domu_past_each_limit(client, alice, host, limit, field, at, past) -> None:  # type: ignore[no-untyped-def]
    Quota.objects.create(user=alice, **limit)
    running(host, alice, "old", 1024)  # 1024 MB, 1 vCPU, 1 domU, no disk
    response = new_domu(client, host, "at-limit", **at)
    assert response.status_code == 302, field_errors(response)
    if past is None:  # the count: the second new domU is the third
        past = {}
    response = new_domu(client, host, "past-limit", **past)
    assert response.status_code == 200
    errors = field_errors(response)
    assert any("Quota exceeded" in e for e in errors.get(field, [])), errors
    assert not Domain.objects.filter(name="past-limit").exists()


def test_it_shows_what_is_left_on_the_new_domu_form(client, alice, host) -> None:
    Quota.objects.create(user=alice, memory_mb=4096, domus=3)
    running(host, alice, "old", 1024)
    page = client.get(reverse("domains:new")).content.decode()
    assert "Quota: 3 GiB left of 4 GiB (user alice)" in page
    assert "2 domUs left of 3 domUs" in page


# --- domUs: start ---------------------------------------------------------------------------------
def test_it_checks_memory_and_vcpus_again_when_a_domu_starts(client, alice, host) -> None:
    Quota.objects.create(user=alice, memory_mb=3072, vcpus=4)
    running(host, alice, "busy", 1024, vcpus=2)
    stopped = Domain.objects.create(
        host=host, name="idle", owner=alice, memory_mb=2048, vcpus=2, state="not_running",
        vnc_display=9,
    )  # fmt: skip
    start = reverse("domains:action", args=[stopped.code, "start"])
    assert client.post(start).status_code == 302
    assert Job.objects.on(stopped).filter(kind="domain.start").count() == 1
    # Now more memory is in use than when it was created: the same start is refused.
    Domain.objects.filter(name="busy").update(memory_mb=1025)
    response = client.post(start, follow=True)
    assert Job.objects.on(stopped).filter(kind="domain.start").count() == 1
    text = response.content.decode()
    assert "idle was not started" in text and "Quota exceeded for memory" in text
    Domain.objects.filter(name="busy").update(memory_mb=1024, vcpus=3)
    client.post(start)
    assert Job.objects.on(stopped).filter(kind="domain.start").count() == 1


def test_it_counts_the_team_share_for_everyone_in_the_team(django_user_model, host) -> None:  # type: ignore[no-untyped-def]
    lab = Group.objects.create(name="lab")
    bob, cleo = operator(django_user_model, "bob", lab), operator(django_user_model, "cleo", lab)
    Quota.objects.create(team=lab, memory_mb=2048)
    running(host, bob, "bobs", 1536)
    quotas.check(cleo, memory_mb=512)  # at the team's limit
    with pytest.raises(quotas.QuotaExceeded, match="team lab"):
        quotas.check(cleo, memory_mb=513)
    # A domU given to the team counts too, whoever owns it.
    outsider = operator(django_user_model, "out")
    running(host, outsider, "shared", 512, team=lab)
    with pytest.raises(quotas.QuotaExceeded):
        quotas.check(cleo, memory_mb=1)
    assert quotas.remaining(cleo)[0].left == 0


# --- volumes ----------------------------------------------------------------------------------
def test_it_refuses_a_volume_past_the_disk_quota(client, alice, host) -> None:
    Quota.objects.create(user=alice, disk_bytes=10 * GIB)
    Volume.objects.create(
        host=host, dataset="zroot/xen/a", size_bytes=8 * GIB, state="ready", owner=alice
    )
    url = reverse("storage:volume_new", args=[host.code])
    assert "Quota: 2 GiB left of 10 GiB (user alice)" in client.get(url).content.decode()
    response = client.post(url, {"name": "b", "size": "3G"})
    assert response.status_code == 200
    assert any("Quota exceeded for disk" in e for e in field_errors(response)["size"])
    assert client.post(url, {"name": "b", "size": "2G"}).status_code == 302
    assert Volume.objects.filter(dataset="zroot/xen/b", size_bytes=2 * GIB).exists()
    # A failed volume holds nothing.
    Volume.objects.filter(dataset="zroot/xen/a").update(state="failed")
    assert client.post(url, {"name": "c", "size": "8G"}).status_code == 302


def test_it_refuses_at_job_start_too_when_the_form_was_passed(alice, host) -> None:
    """Two tabs: the form was fine, but the share went meanwhile; the job is not queued."""
    from storage.jobs import volumes as volume_jobs

    Quota.objects.create(user=alice, disk_bytes=GIB)
    vol = Volume.objects.create(host=host, dataset="zroot/xen/x", size_bytes=2 * GIB, owner=alice)
    with pytest.raises(quotas.QuotaExceeded):
        volume_jobs.queue_create(vol, alice)
    assert not Job.objects.filter(kind="volume.create").exists()


# --- ISO storage: upload and fetch ----------------------------------------------------------------
def iso(host: Host, owner: Any, name: str, size: int) -> IsoImage:
    return IsoImage.objects.create(
        host=host, file_name=name, size_bytes=size, source="url", state="ready", owner=owner
    )


def test_it_refuses_an_upload_past_the_iso_quota(client, alice, host) -> None:
    Quota.objects.create(user=alice, iso_bytes=100 * 2**20)
    iso(host, alice, "a.iso", 60 * 2**20)
    url = reverse("isos:upload_create")
    data = {"host": host.pk, "file_name": "b.iso", "size": 41 * 2**20}
    response = client.post(url, data)
    assert response.status_code == 400
    assert "Quota exceeded for ISO storage" in str(response.json()["errors"])
    response = client.post(url, {**data, "size": 40 * 2**20})
    assert response.status_code == 201, response.json()
    # The upload reserved its size: nothing is left for a third.
    with pytest.raises(quotas.QuotaExceeded):
        quotas.check(alice, iso_bytes=1)


def test_it_refuses_a_fetch_when_no_iso_storage_is_left(client, alice, host) -> None:
    Quota.objects.create(user=alice, iso_bytes=100 * 2**20)
    iso(host, alice, "a.iso", 100 * 2**20)
    url = reverse("isos:fetch")
    # An address literal: the form resolves names, and tests have no DNS.
    data = {"host": host.pk, "url": "https://93.184.216.34/b.iso"}
    page = client.get(url).content.decode()
    assert "Quota: 0 bytes left of 100 MiB (user alice)" in page
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Quota exceeded for ISO storage" in response.content.decode()
    IsoImage.objects.filter(file_name="a.iso").update(size_bytes=100 * 2**20 - 1)
    response = client.post(url, data)
    assert response.status_code == 302, field_errors(response)
    assert Job.objects.filter(kind="iso.fetch").count() == 1
