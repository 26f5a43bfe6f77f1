"""Host maintenance: admins enter and end it, nothing new is placed on the host, autostart is
suspended there (the observe hook queues none, a queued autostart job starts nothing), and only
admins may evacuate or change it; everyone signed in sees it on the host page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import transaction
from django.urls import reverse

from dom0.sim import SimHost
from domains import actions
from domains.models import Domain, DomainState
from hosts.models import Host
from hosts.simhosts import create_sim_host
from jobs.models import Job
from tests.domains.support import create_via_form, form_data, poll, refreshed_host
from tests.support.jobs import wait_for_job
from tests.support.roles import ensure_roles, roles  # noqa: F401  (fixture)


def _user(django_user_model, name: str, role: str):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(name, f"{name}@example.com", "pw-123-abc")
    user.groups.add(Group.objects.get(name=role))
    return user


def _messages(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


# --- autostart (real worker) ---------------------------------------------------------------------
def test_autostart_is_suspended_on_a_host_in_maintenance(worker, admin_client, tmp_path):
    host = refreshed_host("xen1", tmp_path)
    domain, job = create_via_form(admin_client, host, "db", memory_mb=512, autostart="on")
    assert job.status == "succeeded", job.error
    SimHost(host.sim_dir).age(3600)  # a reboot then clearly sets Domain-0's CPU time back
    poll(host)  # the facts now hold the domids and Domain-0's CPU time

    response = admin_client.post(reverse("domains:maintenance_enter", args=[host.code]))
    assert response.status_code == 302
    assert "1 running domU(s) keep running there" in _messages(response)
    domain.refresh_from_db()
    assert domain.state == DomainState.RUNNING  # entering maintenance moves nothing

    sim = SimHost(host.sim_dir)
    sim.reboot()
    poll(host)
    assert not Job.objects.filter(kind=actions.AUTOSTART).exists()
    assert "db" not in sim.run(["xl", "list"]).stdout

    # An autostart job queued before the admin's click starts nothing once it runs.
    with transaction.atomic():
        queued = actions.queue_autostart(host, [domain.pk], reason="queued before maintenance")
    queued = wait_for_job(queued, timeout=30)
    assert queued.status == "succeeded", queued.error
    assert queued.message == "Started nothing: xen1 is in maintenance"
    assert "db" not in sim.run(["xl", "list"]).stdout


# --- the new-domU form ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_new_domu_form_refuses_a_host_in_maintenance(admin_client, admin_user, tmp_path):
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    admin_client.post(reverse("domains:maintenance_enter", args=[host.code]))
    host.refresh_from_db()
    assert host.maintenance and host.maintenance_by == admin_user

    response = admin_client.post(reverse("domains:new"), form_data(host, "web9"))
    assert response.status_code == 200
    errors = response.context["form"].errors["host"]
    assert len(errors) == 1
    assert errors[0].startswith("xen1 is in maintenance since ")
    assert errors[0].endswith(" by root: choose another host.")
    assert not Domain.objects.filter(name="web9").exists()
    assert not Job.objects.exists()

    admin_client.post(reverse("domains:maintenance_end", args=[host.code]))
    host.refresh_from_db()
    assert not host.maintenance and host.maintenance_by is None and host.maintenance_since is None
    form = response.context["form"].__class__(form_data(host, "web9"), user=admin_user)
    form.is_valid()
    assert "host" not in form.errors


# --- who may do what -----------------------------------------------------------------------------
@pytest.fixture
def people(django_user_model, roles):  # type: ignore[no-untyped-def]  # noqa: F811
    ensure_roles()
    return {
        "admin": _user(django_user_model, "ada", "admin"),
        "operator": _user(django_user_model, "olga", "operator"),
        "viewer": _user(django_user_model, "vera", "viewer"),
    }


@pytest.mark.django_db
def test_only_admins_evacuate_or_change_maintenance(client, people, tmp_path):
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    create_sim_host("xen2", state_dir=tmp_path / "xen2")
    urls = {
        name: reverse(f"domains:{name}", args=[host.code])
        for name in ("evacuate", "maintenance_enter", "maintenance_end")
    }
    for who in ("operator", "viewer"):
        client.force_login(people[who])
        assert client.get(urls["evacuate"]).status_code == 403, who
        for url in urls.values():
            data = {"placement": "auto", "confirm": "yes"}
            assert client.post(url, data).status_code == 403, (who, url)
        # They see the section and its state, without the buttons.
        page = client.get(host.get_absolute_url()).content.decode()
        assert 'id="host-maintenance"' in page and 'data-maintenance="no"' in page
        assert urls["maintenance_enter"] not in page and urls["evacuate"] not in page
        panel = client.get(reverse("domains:maintenance_panel", args=[host.code]))
        assert panel.status_code == 200
    client.logout()
    for url in urls.values():
        response = client.post(url, {"placement": "auto", "confirm": "yes"})
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    host.refresh_from_db()
    assert not host.maintenance and not Job.objects.exists()

    client.force_login(people["admin"])
    page = client.get(host.get_absolute_url()).content.decode()
    assert urls["maintenance_enter"] in page and urls["evacuate"] in page
    assert client.post(urls["maintenance_enter"]).status_code == 302
    host.refresh_from_db()
    assert host.maintenance and host.maintenance_by == people["admin"]
    page = client.get(host.get_absolute_url()).content.decode()
    assert 'data-maintenance="yes"' in page and "xen1 is in maintenance since" in page
    assert urls["maintenance_end"] in page


@pytest.mark.django_db
def test_the_evacuate_form_offers_the_hosts_in_service_and_checks_the_choice(
    admin_client, tmp_path
):
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    other = create_sim_host("xen2", state_dir=tmp_path / "xen2")
    resting = create_sim_host("xen3", state_dir=tmp_path / "xen3")
    Host.objects.filter(pk=resting.pk).update(maintenance=True)
    url = reverse("domains:evacuate", args=[host.code])

    page = admin_client.get(url).content.decode()
    assert str(other.code) in page and str(resting.code) not in page
    response = admin_client.post(url, {"placement": "chosen"})
    assert response.status_code == 200
    assert response.context["form"].errors["targets"] == [
        "Pick at least one host, or choose automatic."
    ]
    # A host in maintenance cannot be smuggled in.
    response = admin_client.post(url, {"placement": "chosen", "targets": [str(resting.code)]})
    assert response.status_code == 200 and "targets" in response.context["form"].errors
    # Nothing runs on xen1: the confirmation says evacuating only puts it in maintenance.
    response = admin_client.post(url, {"placement": "auto"})
    assert "evacuating only puts it in maintenance" in response.content.decode()
    assert not Job.objects.exists()

    response = admin_client.post(url, {"placement": "auto", "confirm": "yes"})
    assert response.status_code == 302
    job = Job.objects.get(kind=actions.EVACUATE)
    assert job.targets.get(role="host").lock_key == f"evacuate:{host.pk}"
    assert job.params == {"host_id": host.pk, "target_ids": []}
    # A second evacuation of the same host is refused while the first is queued or running.
    response = admin_client.post(url, {"placement": "auto", "confirm": "yes"})
    assert response.status_code == 302 and f"Job #{job.pk}" in _messages(response)
    assert Job.objects.filter(kind=actions.EVACUATE).count() == 1
