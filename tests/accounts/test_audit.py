"""The audit list: what goes in (sign-ins, sign-outs, console opens, user/group/permission/quota
changes, config restores, job starts), who may read it, its filters — and no secret in it."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import serializers
from django.test import Client
from django.urls import reverse

from accounts.models import AuditAction, AuditEntry, Quota
from domains import records
from domains.models import Domain
from hosts.simhosts import create_sim_host
from jobs.models import Job, JobStep
from tests.domains.support import form_data, refreshed_host
from tests.support.jobs import wait_for_job
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("roles")
PASSWORD = "Lantern-Otter-93"
VNC_PASSWORD = "Zq7wLp3x"
CONFIG = 'name = "web1"\nmemory = 1024\nvcpus = 1\nvnc = 1\nvncdisplay = 1\n'


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


@pytest.mark.django_db
def test_it_records_sign_in_failure_and_sign_out_with_the_address(django_user_model) -> None:  # type: ignore[no-untyped-def]
    django_user_model.objects.create_user("olga", password=PASSWORD)
    client = Client(REMOTE_ADDR="192.0.2.44")
    client.post(reverse("login"), {"username": "olga", "password": "not-it"})
    client.post(reverse("login"), {"username": "olga", "password": PASSWORD})
    client.post(reverse("logout"))
    entries = AuditEntry.objects.filter(actor_name="olga").order_by("id")
    assert [e.action for e in entries][-3:] == ["login_failed", "login", "logout"]
    assert {e.address for e in entries if e.action != "user_change"} == {"192.0.2.44"}
    assert entries.get(action="login").actor.username == "olga"


@pytest.mark.django_db
def test_it_keeps_a_name_no_account_has_out_of_the_list() -> None:
    # People type their password into the name field; such a "name" must not be kept.
    Client(REMOTE_ADDR="192.0.2.45").post(
        reverse("login"), {"username": "hunter2-secret", "password": "x"}
    )
    entry = AuditEntry.objects.get(action="login_failed")
    assert "hunter2" not in f"{entry.actor_name} {entry.target_label} {entry.details}"
    assert entry.address == "192.0.2.45"


@pytest.mark.django_db
def test_it_records_the_browser_address_behind_a_trusted_proxy(settings) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.23").post(
        reverse("login"), {"username": "nobody", "password": "x"}
    )
    assert AuditEntry.objects.get(action="login_failed").address == "198.51.100.23"


@pytest.mark.django_db
def test_it_records_who_changed_groups_permissions_and_quotas_in_the_admin(
    admin_client, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    lab = Group.objects.create(name="lab")
    ivan = django_user_model.objects.create_user("ivan")
    url = reverse("admin:auth_user_change", args=[ivan.pk])
    operator = Group.objects.get(name="operator")
    response = admin_client.post(
        url,
        {
            "username": "ivan",
            "groups": [operator.pk, lab.pk],
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "quota-TOTAL_FORMS": "1",
            "quota-INITIAL_FORMS": "0",
            "quota-MIN_NUM_FORMS": "0",
            "quota-MAX_NUM_FORMS": "1",
            "quota-0-memory_mb": "4096",
            "quota-0-domus": "2",
            "quota-0-user": str(ivan.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Quota.objects.get(user=ivan).memory_mb == 4096
    change = AuditEntry.objects.get(action=AuditAction.GROUP_CHANGE, target_label="ivan")
    assert change.actor_name == "root" and change.address == "127.0.0.1"
    assert change.details == {"added": ["lab", "operator"]}
    quota = AuditEntry.objects.get(action=AuditAction.QUOTA_CHANGE)
    assert quota.actor_name == "root" and quota.details["limits"]["memory_mb"] == 4096
    lab.permissions.add(Permission.objects.get(codename="view_host"))
    assert AuditEntry.objects.filter(
        action=AuditAction.PERMISSION_CHANGE, target_label="lab"
    ).exists()
    ivan.is_superuser = True
    ivan.save()
    made_admin = AuditEntry.objects.filter(action=AuditAction.USER_CHANGE).latest("id")
    assert made_admin.details == {"changed": {"is_superuser": [False, True]}}


@pytest.mark.django_db
def test_it_records_config_restores_and_job_starts(tmp_path, django_user_model) -> None:  # type: ignore[no-untyped-def]
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    alice = django_user_model.objects.create_user("alice")
    alice.groups.add(Group.objects.get(name="operator"))
    domain = Domain.objects.create(host=host, name="web1", owner=alice, memory_mb=1024)
    records.add_version(domain, CONFIG, author=alice)
    records.add_version(domain, CONFIG.replace("1024", "2048"), author=alice)
    client = Client()
    client.force_login(alice)
    client.post(reverse("domains:restore", args=[domain.code, 1]))
    restore = AuditEntry.objects.get(action=AuditAction.CONFIG_RESTORE)
    assert restore.actor_name == "alice" and restore.target_label == "web1"
    assert restore.details == {"restored": 1, "as_version": 3, "host": "xen1"}
    assert restore.target_url == domain.get_absolute_url()
    client.post(reverse("domains:action", args=[domain.code, "start"]))
    start = AuditEntry.objects.get(action=AuditAction.JOB_START)
    job = Job.objects.get(kind="domain.start")
    assert start.actor_name == "alice" and start.target_url == job.get_absolute_url()
    assert start.details["kind"] == "domain.start"


@pytest.mark.django_db
def test_it_lets_admins_filter_the_list_and_no_one_else_read_it(
    admin_client, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    AuditEntry.objects.create(actor_name="alice", action="login", address="10.0.0.1")
    AuditEntry.objects.create(actor_name="bob", action="login_failed", address="10.9.0.2")
    AuditEntry.objects.create(
        actor_name="alice", action="console_open", target_type="domU", target_label="web1"
    )
    url = reverse("audit:list")
    page = admin_client.get(url).content.decode()
    assert "alice" in page and "bob" in page and "web1" in page
    only_bob = admin_client.get(url, {"actor": "bob"}).content.decode()
    assert "10.9.0.2" in only_bob and "10.0.0.1" not in only_bob
    consoles = admin_client.get(url, {"action": "console_open"}).content.decode()
    assert "web1" in consoles and "10.0.0.1" not in consoles
    by_address = admin_client.get(url, {"address": "10.0."}).content.decode()
    assert "10.0.0.1" in by_address and "10.9.0.2" not in by_address
    assert "0 entries" in admin_client.get(url, {"since": "2999-01-01"}).content.decode()
    viewer = django_user_model.objects.create_user("vera")
    viewer.groups.add(Group.objects.get(name="viewer"))
    client = Client()
    client.force_login(viewer)
    assert client.get(url).status_code == 403


# --- no secret anywhere ------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_it_keeps_secrets_out_of_the_audit_list_and_job_logs(
    worker, tmp_path, django_user_model, _point_at_redis
) -> None:  # type: ignore[no-untyped-def]
    host = refreshed_host("xen1", tmp_path)
    olga = django_user_model.objects.create_user("olga", password=PASSWORD)
    olga.groups.add(Group.objects.get(name="operator"))
    client = Client()
    client.post(reverse("login"), {"username": "olga", "password": "a-wrong-" + PASSWORD})
    assert (
        client.post(reverse("login"), {"username": "olga", "password": PASSWORD}).status_code == 302
    )
    session_key = client.cookies["sessionid"].value
    data = form_data(host, "web1", vnc_password=VNC_PASSWORD)
    assert client.post(reverse("domains:new"), data).status_code == 302
    domain = Domain.objects.get(name="web1")
    job = wait_for_job(Job.objects.on(domain).get(kind="domain.create"))
    assert job.status == "succeeded", job.error
    ticket = client.post(reverse("console:ticket", args=[domain.code])).json()
    assert ticket["password"] == VNC_PASSWORD  # the browser gets it; the records must not
    client.post(reverse("domains:action", args=[domain.code, "shutdown"]))
    client.post(reverse("logout"))

    assert {"login_failed", "login", "job_start", "console_open", "logout"} <= set(actions())
    secrets = {
        "VNC password": VNC_PASSWORD,
        "login password": PASSWORD,
        "session id": session_key,
        "console ticket": ticket["ticket"],
    }
    audit_text = serializers.serialize("json", AuditEntry.objects.all())
    steps = JobStep.objects.all()
    assert steps.exists()
    job_text = serializers.serialize("json", steps) + serializers.serialize(
        "json", Job.objects.all()
    )
    for what, value in secrets.items():
        assert value not in audit_text, f"{what} in the audit list"
        assert value not in job_text, f"{what} in a job log"
    # And the page admins read shows none of them either.
    admin = django_user_model.objects.create_superuser("root", password=None)
    reader = Client()
    reader.force_login(admin)
    page = reader.get(reverse("audit:list")).content.decode()
    assert "console_open" in json.dumps(actions()) and "Console opened" in page
    for value in secrets.values():
        assert value not in page
