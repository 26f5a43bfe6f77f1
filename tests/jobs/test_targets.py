"""A job names its targets: it locks each, shows on each target's page, and is seen through them."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.urls import reverse

from domains.models import Domain
from hosts.jobs import queue_refresh
from hosts.simhosts import create_sim_host
from jobs import locks
from jobs.access import jobs_for_user
from jobs.choices import JobStatus
from jobs.enqueue import Target, add_targets, enqueue
from jobs.models import Job
from storage.models import IsoImage, Volume
from tests.jobs import kinds  # noqa: F401  (registers test.sleep)
from tests.support.jobs import wait_for_job


def _operator(django_user_model, name: str):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(name, password=f"pw-{name}")
    user.groups.add(Group.objects.get_or_create(name="operator")[0])
    return user


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_it_locks_every_target_of_a_migration_and_lists_it_on_each_page(
    worker, django_user_model, tmp_path
):
    source = create_sim_host("xen-a", state_dir=tmp_path / "a")
    destination = create_sim_host("xen-b", state_dir=tmp_path / "b")
    owner = _operator(django_user_model, "olga")
    domain = Domain.objects.create(host=source, name="web1", memory_mb=256, owner=owner)
    with transaction.atomic():
        # The shape of a live migration: the domU and both hosts, each locked by the one job.
        migration = enqueue(
            "test.sleep",
            title="Migrate web1 to xen-b",
            targets=[
                Target.locking("domain", domain),
                Target.locking("source", source),
                Target.locking("destination", destination),
            ],
            user=owner,
            params={"seconds": 1.5},
        )
    wait_for_job(migration, until_active=True)
    assert {locks.holder(o.lock_key) for o in (domain, source, destination)} == {migration.pk}

    # A refresh of the destination waits for the migration instead of running beside it.
    with transaction.atomic():
        refresh = queue_refresh(destination)
    waiting = f"Waiting for job #{migration.pk} on xen-b"
    deadline = time.monotonic() + 10
    while refresh.message != waiting and time.monotonic() < deadline:
        time.sleep(0.02)
        refresh.refresh_from_db()
    assert refresh.message == waiting and refresh.status == JobStatus.QUEUED

    assert wait_for_job(migration).status == JobStatus.SUCCEEDED
    refresh = wait_for_job(refresh)
    assert refresh.status == JobStatus.SUCCEEDED, refresh.error
    assert all(locks.holder(o.lock_key) is None for o in (domain, source, destination))

    admin = django_user_model.objects.create_superuser("root", "r@example.com", "pw-root-123")
    for client, url in (
        (_client(admin), source.get_absolute_url()),
        (_client(admin), destination.get_absolute_url()),
        (_client(owner), domain.get_absolute_url()),
        (_client(admin), reverse("jobs:list") + f"?host={destination.code}"),
    ):
        page = client.get(url).content.decode()
        assert "Migrate web1 to xen-b" in page, url
    detail = _client(owner).get(migration.get_absolute_url()).content.decode()
    for label in ("web1", "xen-a", "xen-b"):
        assert label in detail


@pytest.mark.django_db
def test_it_hides_a_deleted_objects_jobs_from_whoever_reuses_its_name(django_user_model, tmp_path):
    host = create_sim_host("xen-a", state_dir=tmp_path / "a")
    alice, bob = _operator(django_user_model, "alice"), _operator(django_user_model, "bob")
    old = {
        "domain": Domain.objects.create(host=host, name="web1", memory_mb=256, owner=alice),
        "volume": Volume.objects.create(
            host=host, dataset="zroot/xen/web1-disk0", size_bytes=2**30, owner=alice
        ),
        "iso": IsoImage.objects.create(
            host=host, file_name="install.iso", source="url", owner=alice
        ),
    }
    jobs = {}
    for role, obj in old.items():
        job = Job.objects.create(kind="test.sleep", title=f"alice's {role} job")
        # Seen through its targets: alice owns them; bob sees neither the objects nor the jobs.
        add_targets(job, [Target.locking(role, obj), Target("host", host)])
        jobs[role] = job
        assert jobs_for_user(alice).filter(pk=job.pk).exists()
        assert not jobs_for_user(bob).filter(pk=job.pk).exists()
    for obj in old.values():
        obj.delete()

    # Bob makes objects of the same names on the same host: alice's old jobs stay hers.
    Domain.objects.create(host=host, name="web1", memory_mb=256, owner=bob)
    Volume.objects.create(host=host, dataset="zroot/xen/web1-disk0", size_bytes=2**30, owner=bob)
    IsoImage.objects.create(host=host, file_name="install.iso", source="url", owner=bob)
    client = _client(bob)
    listing = client.get(reverse("jobs:list")).content.decode()
    for job in jobs.values():
        assert not jobs_for_user(bob).filter(pk=job.pk).exists()
        assert job.title not in listing
        assert client.get(job.get_absolute_url()).status_code == 404
    # Visibility came from the objects, not the names: with them gone, so is alice's view
    # (she did not request these jobs; a requester always sees their own).
    assert jobs_for_user(alice).count() == 0
