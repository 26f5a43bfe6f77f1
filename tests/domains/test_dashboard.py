"""The dashboard: capacity bars, domU states, recent jobs, and a query count that stays flat."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from domains.models import Domain
from hosts.models import Host

pytestmark = pytest.mark.django_db


def _host(name: str, domus: int, owner) -> Host:
    host = Host.objects.create(
        name=name,
        transport="sim",
        status="ok",
        facts={
            "xen_version": "4.18.0",
            "nr_cpus": 8,
            "total_memory_mib": 32768,
            "free_memory_mib": 20480,
            "dom0_memory_mib": 8192,
            "dom0_vcpus": 4,
            "domu_memory_mib": 4096,
            "domu_vcpus": 6,
        },
    )
    for i in range(domus):
        Domain.objects.create(
            host=host,
            name=f"{name}-d{i}",
            owner=owner,
            memory_mb=512,
            vnc_display=i + 1,
            state="running" if i % 2 else "not_running",
        )
    return host


def _get(client) -> tuple[str, int]:
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_it_shows_capacity_and_states_with_a_flat_query_count(admin_client, admin_user):
    _host("xen1", 2, admin_user)
    page, few = _get(admin_client)
    assert "domUs 4 GiB · 20 GiB free of 32 GiB" in page
    assert "domUs 6 · 8 CPUs" in page and 'data-domain="xen1-d1"' in page
    assert "width: 25.0%" in page  # Domain-0's 8 GiB of 32 GiB
    _host("xen2", 12, admin_user)
    _host("xen3", 12, admin_user)
    page, many = _get(admin_client)
    assert many == few
    assert "all 26" in page and "</span> up · 1 down" in page and "</span> up · 6 down" in page
