"""The hosts API: reads for everyone signed in, writes for admins through the host form and the
page's rules (key pinning, the typed-name removal), refresh and readiness through a real worker."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts import tokens
from accounts.models import ApiToken
from hosts.models import Host
from hosts.simhosts import create_sim_host
from jobs.choices import JobStatus
from jobs.models import Job
from tests.api.test_api_matrix import (
    ADMIN,
    ANON,
    CALLERS,
    OTHER,
    OWNER,
    READ_TOKEN,
    TEAMMATE,
    VIEWER,
    WRITE_TOKEN,
    admins_only,
    client_for,
)
from tests.support.jobs import wait_for_job
from tests.support.roles import roles  # noqa: F401  (fixture)
from tests.test_permission_matrix import World, host_form, world  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]

FORM = {
    "name": "real1", "address": "127.0.0.1", "transport": "ssh", "ssh_user": "root",
    "ssh_port": 22, "volumes_parent": "zroot/xen", "iso_dir": "/var/lib/xenpanel/isos",
    "config_dir": "/usr/local/etc/xen", "default_bridge": "bridge0", "vnc_listen": "127.0.0.1",
}  # fmt: skip


def _send(client: Any, method: str, url: str, data: dict[str, Any]) -> Any:
    return getattr(client, method)(url, data, content_type="application/json")


# --- the writes the matrix (one method per route) does not cover --------------------------------
@pytest.mark.parametrize(
    ("method", "route", "data", "expect"),
    [
        ("post", "api:hosts", lambda w: host_form(w.local, name="xen2"), admins_only(201)),
        (
            "patch", "api:host", lambda w: {"default_bridge": "bridge7"},
            admins_only(200),
        ),
        # The write token comes after the admin, who has removed the host by then.
        (
            "delete", "api:host", lambda w: {"confirm": w.local.name},
            {**admins_only(204), WRITE_TOKEN: 404},
        ),
    ],
    ids=["create", "edit", "delete"],
)  # fmt: skip
def test_only_admins_write_hosts(world: World, method, route, data, expect) -> None:  # noqa: F811
    kwargs = {} if route == "api:hosts" else {"code": world.local.code}
    url = reverse(route, kwargs=kwargs)
    got = {caller: _send(client_for(world, caller), method, url, data(world)).status_code
           for caller in CALLERS}  # fmt: skip
    assert got == expect


def test_the_owner_tokens_are_refused_like_their_user(world: World) -> None:  # noqa: F811
    url = reverse("api:host-refresh", kwargs={"code": world.host.code})
    for caller in (READ_TOKEN, WRITE_TOKEN):
        body = client_for(world, caller).post(url).json()
        assert body["code"] == "permission_denied", body


# --- the same validation as the form -------------------------------------------------------------
def test_creating_refuses_what_the_form_refuses(world: World) -> None:  # noqa: F811
    admin = client_for(world, ADMIN)
    url = reverse("api:hosts")
    bad = _send(admin, "post", url, {**FORM, "name": "9bad", "iso_dir": "relative/dir"})
    assert bad.status_code == 400
    body = bad.json()
    assert body["code"] == "invalid" and set(body["fields"]) == {"name", "iso_dir"}
    assert "Start with a letter" in body["fields"]["name"][0]
    sim = _send(admin, "post", url, {**FORM, "transport": "sim"}).json()
    assert "sim_host" in sim["fields"]["transport"][0]
    typo = _send(admin, "post", url, {**FORM, "bridge": "bridge1"}).json()
    assert typo["fields"] == {"bridge": ["Not a field of a host one can set."]}
    assert _send(admin, "post", url, ["not", "an", "object"]).status_code == 400  # type: ignore[arg-type]
    assert not Host.objects.filter(name__in=["9bad", "real1"]).exists()


def test_patch_changes_only_the_fields_given_and_keeps_a_sim_host_simulated(
    world: World,  # noqa: F811
) -> None:
    admin = client_for(world, ADMIN)
    url = reverse("api:host", kwargs={"code": world.host.code})
    answer = _send(admin, "patch", url, {"default_bridge": "bridge9", "transport": "ssh"})
    assert answer.status_code == 200, answer.json()
    host = Host.objects.get(pk=world.host.pk)
    assert (host.default_bridge, host.transport, host.name) == ("bridge9", "sim", "xen1")
    assert answer.json()["default_bridge"] == "bridge9"
    refused = _send(admin, "patch", url, {"vnc_listen": "0.0.0.0"})  # noqa: S104
    assert refused.status_code == 400 and "vnc_listen" in refused.json()["fields"]


def test_delete_needs_the_host_name_as_on_the_page(world: World) -> None:  # noqa: F811
    admin = client_for(world, ADMIN)
    url = reverse("api:host", kwargs={"code": world.local.code})
    refused = _send(admin, "delete", url, {"confirm": "nope"})
    assert refused.status_code == 400
    assert refused.json()["fields"]["confirm"] == [
        "Type the host name (xen0) to remove it from the panel."
    ]
    assert admin.delete(f"{url}?confirm=xen0").status_code == 204
    assert not Host.objects.filter(pk=world.local.pk).exists()


def test_a_host_shows_its_figures_and_never_its_facts_or_keys(world: World) -> None:  # noqa: F811
    Host.objects.filter(pk=world.host.pk).update(
        facts={"xen_commandline": "dom0_mem=4g secret", "domains": []},
        host_key="ssh-ed25519 AAAAkey", host_key_fingerprint="SHA256:pinned",
        xen_version="4.18.0", free_memory_mib=1234,
    )  # fmt: skip
    reader = client_for(world, VIEWER)
    listed = reader.get(reverse("api:hosts"), {"search": "xen1"}).json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert (row["name"], row["xen_version"], row["free_memory_mib"]) == ("xen1", "4.18.0", 1234)
    assert row["page"] == world.host.get_absolute_url()
    detail = reader.get(row["url"]).json()
    assert detail["host_key_fingerprint"] == "SHA256:pinned"
    text = str(listed) + str(detail)
    assert "facts" not in detail and "dom0_mem" not in text and "AAAAkey" not in text
    assert reader.get(reverse("api:hosts"), {"transport": "local"}).json()["count"] == 1
    names = [h["name"] for h in reader.get(reverse("api:hosts"), {"ordering": "-name"}).json()[
        "results"
    ]]  # fmt: skip
    assert names == ["xen1", "xen0"]


# --- SSH: the key is read on creation and trusted only when pinned ------------------------------
def test_an_ssh_host_made_through_the_api_has_its_key_pinned_on_request(
    world: World,  # noqa: F811
    sshd,
) -> None:
    admin = client_for(world, ADMIN)
    made = _send(admin, "post", reverse("api:hosts"), {**FORM, "ssh_port": sshd.port})
    assert made.status_code == 201, made.json()
    body = made.json()
    assert made["Location"] == body["url"]
    assert body["host_key_read"]["ok"] is True
    pending = body["pending_host_key_fingerprint"]
    assert pending.startswith("SHA256:") and pending in body["host_key_read"]["message"]
    assert body["host_key_fingerprint"] == ""  # nothing is trusted until an admin confirms
    code = body["code"]
    pin = reverse("api:host-key-pin", kwargs={"code": code})
    assert _send(admin, "post", pin, {"fingerprint": "SHA256:other"}).status_code == 409
    pinned = _send(admin, "post", pin, {"fingerprint": pending})
    assert pinned.status_code == 200
    assert pinned.json()["host_key_fingerprint"] == pending
    host = Host.objects.get(code=code)
    assert host.host_key.split()[:2] == sshd.host_key_line.split()[:2]
    again = _send(admin, "post", reverse("api:host-key-fetch", kwargs={"code": code}), {})
    assert again.status_code == 200 and again.json()["ok"] is True


# --- refresh and readiness run as jobs ------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_refreshing_through_the_api_answers_202_and_the_job_succeeds(worker, tmp_path, roles):  # noqa: F811
    from django.contrib.auth.models import Group, User

    ada = User.objects.create_user("ada", password="pw-ada-12345")
    ada.groups.add(Group.objects.get(name="admin"))
    secret = tokens.issue(ada, "script", scope=ApiToken.Scope.WRITE).secret
    from django.test import Client

    api = Client(headers={"Authorization": f"Bearer {secret}"})
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1", total_mem_mib=32768, cpus=8)
    before = api.get(reverse("api:host-readiness", kwargs={"code": host.code})).json()
    assert (before["total"], before["items"]) == (None, [])
    answer = api.post(reverse("api:host-refresh", kwargs={"code": host.code}))
    assert answer.status_code == 202
    assert answer["Location"] == answer.json()["url"]
    job = wait_for_job(Job.objects.get(code=answer.json()["code"]), timeout=60)
    followed = api.get(answer["Location"]).json()
    assert followed["status"] == JobStatus.SUCCEEDED == job.status, followed["error"]
    argv = [step["argv"] for step in followed["steps"]]
    assert ["xl", "info"] in argv and ["xl", "list"] in argv
    shown = api.get(reverse("api:host", kwargs={"code": host.code})).json()
    assert (shown["status"], shown["nr_cpus"], shown["total_memory_mib"]) == ("ok", 8, 32768)
    readiness = api.get(reverse("api:host-readiness", kwargs={"code": host.code})).json()
    assert readiness["passed"] == readiness["total"] == len(readiness["items"]) == 10
    check = api.post(reverse("api:host-readiness-check", kwargs={"code": host.code}))
    assert check.status_code == 202
    rerun = wait_for_job(Job.objects.get(code=check.json()["code"]), timeout=60)
    assert rerun.status == JobStatus.SUCCEEDED, rerun.error
    jobs = api.get(reverse("api:jobs"), {"host": str(host.code)}).json()
    assert {j["code"] for j in jobs["results"]} == {str(job.code), str(rerun.code)}


def test_every_caller_but_anonymous_reads_the_readiness(world: World) -> None:  # noqa: F811
    url = reverse("api:host-readiness", kwargs={"code": world.host.code})
    got = {c: client_for(world, c).get(url).status_code for c in (OWNER, OTHER, TEAMMATE, ANON)}
    assert got == {OWNER: 200, OTHER: 200, TEAMMATE: 200, ANON: 401}
