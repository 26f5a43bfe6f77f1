"""The API's lists cost the same queries at 10 rows as at 200 (token auth, `?limit=200`), and
the lists of things on a host do not read the host's facts and readiness (large JSON that was
decoded for every row and shown in none)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import tokens
from accounts.models import ApiToken
from domains.models import Domain
from hosts.models import Host
from jobs.choices import JobStatus
from jobs.models import Job
from storage.models import IsoImage, Volume

pytestmark = pytest.mark.django_db

FACTS = {"xen_version": "4.18.0", "nr_cpus": 8, "total_memory_mib": 32768, "domains": ["x"] * 50}
#: list route -> does it list things on a host (whose facts it must not read)
LISTS = {"api:domains": True, "api:volumes": True, "api:isos": True, "api:jobs": False,
         "api:hosts": False}  # fmt: skip


def _rows(user: Any, start: int, stop: int) -> None:
    """Hosts, and on the first one domUs, volumes, images and jobs numbered start..stop-1."""
    hosts = Host.objects.bulk_create(
        Host(name=f"xen{i}", transport="sim", status="ok", facts=FACTS, readiness=[{"ok": True}])
        for i in range(start, stop)
    )
    host = Host.objects.order_by("pk").first()
    assert host is not None and hosts
    volumes = Volume.objects.bulk_create(
        Volume(host=host, dataset=f"tank/xen/v{i}", size_bytes=2**30, state="ready", owner=user)
        for i in range(start, stop)
    )
    Domain.objects.bulk_create(
        Domain(
            host=host, name=f"d{i}", owner=user, memory_mb=512, vnc_display=i + 1, volume=volume
        )  # fmt: skip
        for i, volume in zip(range(start, stop), volumes, strict=True)
    )
    IsoImage.objects.bulk_create(
        IsoImage(host=host, file_name=f"i{i}.iso", source="url", state="ready", owner=user)
        for i in range(start, stop)
    )
    Job.objects.bulk_create(
        Job(kind="test.sleep", title=f"job {i}", status=JobStatus.SUCCEEDED, requested_by=user)
        for i in range(start, stop)
    )


def _get(api: Client, url: str, rows: int) -> list[str]:
    api.get(url, {"limit": 200})  # warm: caches that fill once (content types, ...)
    with CaptureQueriesContext(connection) as queries:
        answer = api.get(url, {"limit": 200})
    assert answer.status_code == 200, answer.content[:500]
    assert answer.json()["count"] == rows, url
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_list_runs_the_same_queries_at_10_and_200_rows(name: str, django_user_model) -> None:  # type: ignore[no-untyped-def]
    admin = django_user_model.objects.create_superuser("ada", "ada@example.com", "pw-ada-12345")
    secret = tokens.issue(admin, "counts", scope=ApiToken.Scope.READ).secret
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    url = reverse(name)
    _rows(admin, 0, 10)
    few = _get(api, url, 10)
    _rows(admin, 10, 200)
    many = _get(api, url, 200)
    assert len(many) == len(few), "\n".join(many)
    if LISTS[name]:
        assert not [sql for sql in many if '"facts"' in sql or '"readiness"' in sql], many
