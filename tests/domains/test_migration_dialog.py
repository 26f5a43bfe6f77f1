"""The migration dialog: targets, the checklist (also over htmx), refusals, queueing, clean-up."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import OPERATOR_GROUP
from domains import actions
from jobs.enqueue import Target, add_targets
from jobs.models import Job
from storage.models import Volume
from tests.domains.test_migration_checks import GIB, make_domain, make_host

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    user = django_user_model.objects.create_user("alice", password="pw-alice-123")
    user.groups.add(Group.objects.get_or_create(name=OPERATOR_GROUP)[0])
    return user


def _world(owner: Any = None) -> tuple[Any, Any, Any, Any]:
    a, b = make_host("xen-a", free=4096), make_host("xen-b", free=16384)
    c = make_host("xen-c", free=8192)
    return a, b, c, make_domain(a, owner=owner)


def test_dialog_offers_other_hosts_with_free_memory_and_preselects_the_suggestion(admin_client):
    a, b, c, domain = _world()
    response = admin_client.get(reverse("domains:migrate", args=[domain.code]))
    page = response.content.decode()
    assert response.context["target"] == b and response.context["suggested"] == b
    assert "xen-b (16384 MiB free)" in page and "xen-c (8192 MiB free)" in page
    assert "xen-a (4096 MiB free)" not in page  # not the source
    assert "local ZFS volumes: copied with zfs send/recv" in page
    assert 'name="downtime"' in page and 'data-testid="migrate-checks"' in page
    assert '<button class="btn btn-primary" id="migrate-submit">' in page


def test_changing_the_target_rerenders_the_checklist(admin_client):
    a, b, c, domain = _world()
    c.maintenance = True
    c.save()
    url = reverse("domains:migrate_checks", args=[domain.code])
    response = admin_client.get(url, {"target": str(c.code)}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith("{#") is False and 'id="migrate-plan"' in page
    assert 'data-key="maintenance" data-status="fail"' in page
    assert 'id="migrate-submit" disabled' in page


def test_a_blocking_plan_is_refused_on_post_whatever_the_page_said(admin_client):
    a, b, c, domain = _world()
    b.maintenance = True
    b.save()
    url = reverse("domains:migrate", args=[domain.code])
    response = admin_client.post(url, {"target": str(b.code), "downtime": "pause"})
    assert response.status_code == 302 and f"target={b.code}" in response["Location"]
    assert not Job.objects.filter(kind=actions.MIGRATE).exists()
    followed = admin_client.get(response["Location"]).content.decode()
    assert "was not moved to xen-b" in followed and "in maintenance" in followed


def test_post_queues_one_migration_job_and_goes_to_it(admin_client):
    a, b, c, domain = _world()
    url = reverse("domains:migrate", args=[domain.code])
    response = admin_client.post(url, {"target": str(b.code), "downtime": "pause"})
    job = Job.objects.get(kind=actions.MIGRATE)
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.params["mode"] == "storage" and job.params["downtime"] == "pause"
    assert job.params["target_id"] == b.pk
    assert {t.role for t in job.targets.all()} >= {"domain", "source", "destination"}


def test_viewers_may_not_open_the_dialog_strangers_do_not_see_it(client, django_user_model, alice):
    a, b, c, domain = _world(owner=alice)
    vera = django_user_model.objects.create_user("vera", password="pw-vera-123")
    client.force_login(vera)
    assert client.get(reverse("domains:migrate", args=[domain.code])).status_code == 404
    client.force_login(alice)
    assert client.get(reverse("domains:migrate", args=[domain.code])).status_code == 200


def _superseded(domain: Any, host: Any) -> Volume:
    old = Volume.objects.create(
        host=host, dataset="zroot/xen/web1-old", size_bytes=20 * GIB, state="ready",
        superseded=True,
    )  # fmt: skip
    job = Job.objects.create(
        kind=actions.MIGRATE, title="moved", status="succeeded", result={"superseded": [old.pk]}
    )
    add_targets(job, [Target("domain", domain)])
    return old


def test_cleanup_needs_the_name_and_queues_the_cleanup(admin_client):
    a, b, c, domain = _world()
    domain.host = b
    domain.save()
    _superseded(domain, a)
    page = admin_client.get(domain.get_absolute_url()).content.decode()
    assert 'data-testid="superseded"' in page and "zroot/xen/web1-old" in page
    url = reverse("domains:migration_cleanup", args=[domain.code])
    admin_client.post(url, {"confirm": "nope"})
    assert not Job.objects.filter(kind=actions.MIGRATION_CLEANUP).exists()
    response = admin_client.post(url, {"confirm": "web1"})
    job = Job.objects.get(kind=actions.MIGRATION_CLEANUP)
    assert response["Location"] == job.get_absolute_url()


def test_cleanup_without_superseded_volumes_is_refused(admin_client):
    a, b, c, domain = _world()
    url = reverse("domains:migration_cleanup", args=[domain.code])
    response = admin_client.post(url, {"confirm": "web1"})
    assert response.status_code == 302
    assert not Job.objects.filter(kind=actions.MIGRATION_CLEANUP).exists()
