"""Deleting a domU whatever is left of it, and the domU a create cancelled while queued left.

Delete is idempotent (the volume may already be gone from the host). A create cancelled before it
ran leaves a domU that was never created: the pages say so and offer Delete, and Start refuses.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from dom0.sim import SimHost
from domains import actions
from domains.models import Domain
from jobs.models import Job
from storage.models import Volume
from tests.domains.support import act, create_via_form, queued_create, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_deletes_when_the_volume_is_already_gone(worker, admin_client, tmp_path):
    host = refreshed_host("xen10", tmp_path)
    domain, job = create_via_form(admin_client, host, "gone")
    assert job.status == "succeeded", job.error
    assert act(admin_client, domain, "destroy").status == "succeeded"
    assert SimHost(host.sim_dir).run(["zfs", "destroy", "zroot/xen/gone-disk0"]).rc == 0

    admin_client.post(
        reverse("domains:delete", args=[domain.code]), {"confirm": "gone", "destroy_volume": "1"}
    )
    job = wait_for_job(Job.objects.filter(kind="domain.delete").latest("created_at"))
    assert job.status == "succeeded", job.error
    assert job.steps.filter(label="Not on the host").exists()
    assert not Domain.objects.filter(name="gone").exists()
    assert not Volume.objects.filter(dataset="zroot/xen/gone-disk0").exists()


def test_it_offers_and_runs_delete_for_a_create_cancelled_while_queued(
    worker, admin_client, admin_user, tmp_path
):
    host = refreshed_host("xen11", tmp_path)
    domain, job = queued_create(host, "halted", admin_user, cancel=True)
    assert wait_for_job(job).status == "cancelled"

    listing = admin_client.get(reverse("domains:list")).content.decode()
    assert "never created" in listing and f"{domain.get_absolute_url()}#delete" in listing
    page = admin_client.get(domain.get_absolute_url()).content.decode()
    assert "nothing of halted exists on the host" in page
    assert ">Start<" not in page and 'id="delete"' in page
    assert 'name="destroy_volume"' not in page  # there is no volume to destroy

    admin_client.post(reverse("domains:delete", args=[domain.code]), {"confirm": "halted"})
    job = wait_for_job(Job.objects.filter(kind="domain.delete").latest("created_at"))
    assert job.status == "succeeded", job.error
    assert not Domain.objects.filter(name="halted").exists()
    assert not Volume.objects.filter(dataset="zroot/xen/halted-disk0").exists()
    assert not [s for s in job.steps.all() if s.argv and s.argv[:2] == ["zfs", "destroy"]]


def test_it_refuses_to_start_a_domu_whose_create_was_cancelled(worker, admin_user, tmp_path):
    host = refreshed_host("xen12", tmp_path)
    domain, job = queued_create(host, "never", admin_user, cancel=True)
    assert wait_for_job(job).status == "cancelled"
    with transaction.atomic():
        start = actions.queue(domain, actions.START, "Start never")
    start = wait_for_job(start)
    assert start.status == "failed" and "never created" in start.error
    assert not [s for s in start.steps.all() if s.argv and s.argv[:2] == ["xl", "create"]]
