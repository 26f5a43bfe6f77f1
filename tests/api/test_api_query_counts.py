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
from domains import actions
from domains.models import Domain, DomainTemplate
from hosts.models import Host
from jobs.choices import JobStatus
from jobs.enqueue import Target, add_targets
from jobs.models import Job
from storage.models import IsoImage, Volume

pytestmark = pytest.mark.django_db

FACTS = {"xen_version": "4.18.0", "nr_cpus": 8, "total_memory_mib": 32768, "domains": ["x"] * 50}
#: list route -> does it list things on a host (whose facts it must not read)
LISTS = {"api:domains": True, "api:volumes": True, "api:isos": True, "api:jobs": False,
         "api:hosts": False, "api:domain-templates": True}  # fmt: skip
CONFIG = 'name = "t"\ndisk = [ "phy:/dev/zvol/tank/xen/t0,xvda,w" ]\n'


def _rows(user: Any, start: int, stop: int) -> None:
    """Hosts, and on the first one domUs, volumes, images, jobs and templates (each with a
    clone) numbered start..stop-1."""
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
    # Templates, each made of a domU by a job, with a volume and a clone.
    templates = DomainTemplate.objects.bulk_create(
        DomainTemplate(
            host=host,
            name=f"t{i}",
            owner=user,
            config_text=CONFIG,
            state="ready",
            snapshot="tpl",
            memory_mb=512,
        )  # fmt: skip
        for i in range(start, stop)
    )
    for i, template in zip(range(start, stop), templates, strict=True):
        template.volumes.add(Volume.objects.create(
            host=host, dataset=f"tank/xen/t{i}", size_bytes=2**30, state="ready", owner=user
        ))  # fmt: skip
        job = Job.objects.create(kind=actions.MAKE_TEMPLATE, title=f"make t{i}", requested_by=user)
        add_targets(job, [Target("domain", Domain.objects.get(name=f"d{i}")),
                          Target.locking("template", template)])  # fmt: skip
        Volume.objects.filter(dataset=f"tank/xen/v{i}").update(origin=f"tank/xen/t{i}@tpl")


def _get(api: Client, url: str, rows: int) -> list[str]:
    api.get(url, {"limit": 200})  # warm: caches that fill once (content types, ...)
    with CaptureQueriesContext(connection) as queries:
        answer = api.get(url, {"limit": 200})
    assert answer.status_code == 200, answer.content[:500]
    # Templates bring a volume and a job each.
    assert answer.json()["count"] == rows * (2 if "jobs" in url or "volumes" in url else 1), url
    if "templates" in url:  # the batched fields are there
        first = answer.json()["results"][0]
        assert first["source"] == "d0" and first["clones"] == ["d0"] and first["why_not"] == ""
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
