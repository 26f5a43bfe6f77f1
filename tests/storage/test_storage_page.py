"""The Storage page: pools read by a host refresh, volumes and ISOs across hosts, filters."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from hosts.jobs import queue_refresh
from hosts.simhosts import create_sim_host
from jobs.choices import JobStatus
from storage.models import IsoImage, Pool, Volume
from tests.support.jobs import wait_for_job


@pytest.mark.django_db(transaction=True)
def test_it_shows_the_pools_a_refresh_read_with_their_health(worker, admin_client, tmp_path):
    host = create_sim_host("xen-a", state_dir=tmp_path / "a")
    with transaction.atomic():
        job = queue_refresh(host)
    job = wait_for_job(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert any(s.argv and s.argv[:2] == ["zpool", "list"] for s in job.steps.all())
    pool = Pool.objects.get(host=host)
    assert pool.size_bytes and pool.free_bytes is not None and pool.health == "ONLINE"
    page = admin_client.get(reverse("storage:index")).content.decode()
    assert f'data-pool="{pool.name}"' in page and "ONLINE" in page


@pytest.mark.django_db
def test_it_filters_by_host_and_name(admin_client, tmp_path):
    a = create_sim_host("xen-a", state_dir=tmp_path / "a")
    b = create_sim_host("xen-b", state_dir=tmp_path / "b")
    Volume.objects.create(host=a, dataset="zroot/xen/web1-disk0", size_bytes=2**30, state="ready")
    Volume.objects.create(host=b, dataset="zroot/xen/db1-disk0", size_bytes=2**30, state="ready")
    IsoImage.objects.create(host=b, file_name="debian.iso", source="url", state="ready")
    url = reverse("storage:index")
    page = admin_client.get(url, {"host": str(b.code)}).content.decode()
    assert 'data-volume="zroot/xen/db1-disk0"' in page and "web1-disk0" not in page
    assert 'data-iso="debian.iso"' in page
    page = admin_client.get(url, {"q": "web1"}).content.decode()
    assert "web1-disk0" in page and "db1-disk0" not in page and "debian.iso" not in page
    # A host code that is not one is ignored, not a server error.
    assert admin_client.get(url, {"host": "nonsense"}).status_code == 200
