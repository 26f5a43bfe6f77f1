"""The charts' JSON: who may read which series, its shape from seeded samples, cache headers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from domains.models import Domain
from hosts.models import Host
from monitoring.models import DomainSample, HostSample, PoolSample, Resolution
from storage.models import Pool
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]

MIB = 2**20
GIB = 2**30


@pytest.fixture
def world(django_user_model) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    team = Group.objects.create(name="lab")
    users = {}
    for key, role, in_team in [
        ("owner", "operator", True),
        ("other", "operator", False),
        ("viewer", "viewer", True),
    ]:
        user = django_user_model.objects.create_user(key)
        user.groups.add(Group.objects.get(name=role), *([team] if in_team else []))
        users[key] = user
    host = Host.objects.create(name="xen1", transport="local")
    web = Domain.objects.create(
        host=host, name="web1", owner=users["owner"], team=team, memory_mb=1024, vcpus=1
    )
    db = Domain.objects.create(host=host, name="db1", owner=users["other"], memory_mb=1024, vcpus=1)
    now = timezone.now().replace(microsecond=0)
    for i in range(10):  # ten rounds, a minute apart, the newest a minute ago
        at = now - timedelta(minutes=10 - i)
        HostSample.objects.create(
            host=host, at=at, memory_total_mib=8192, memory_free_mib=4096 - i,
            cpu_dom0_pct=5.0, cpu_domu_pct=20.0 + i, domu_count=2,
        )  # fmt: skip
        for dom, cpu in ((web, 40.0), (db, 90.0)):
            DomainSample.objects.create(
                domain=dom, host=host, at=at, cpu_pct=cpu, memory_mib=1024,
                disk_read_bps=1000.0, disk_write_bps=500.0, net_rx_bps=100.0, net_tx_bps=50.0,
            )  # fmt: skip
    Pool.objects.create(host=host, name="zroot", size_bytes=100 * GIB, seen_at=now)
    for d in range(8):  # a week of a GiB a day (5-minute rows: what a week shows)
        PoolSample.objects.create(
            host=host, pool="zroot", resolution=Resolution.FIVE_MINUTES,
            at=now - timedelta(days=7 - d),
            size_bytes=100 * GIB, allocated_bytes=(60 + d) * GIB, free_bytes=(40 - d) * GIB,
        )  # fmt: skip
    return {"host": host, "web": web, "db": db, "users": users}


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def get(user: Any, name: str, query: str = "", **kwargs: Any) -> Any:
    return client_for(user).get(reverse(f"monitoring:{name}", kwargs=kwargs) + query)


def test_a_domus_series_only_for_those_who_may_see_it(world) -> None:  # type: ignore[no-untyped-def]
    u = world["users"]
    code = world["web"].code
    assert get(u["owner"], "domain_charts", code=code).status_code == 200
    assert get(u["viewer"], "domain_charts", code=code).status_code == 200
    assert get(u["other"], "domain_charts", code=code).status_code == 404
    anon = get(None, "domain_charts", code=code)
    assert anon.status_code == 302 and anon["Location"].startswith(reverse("login"))
    # Every signed-in user sees hosts and pools (as the host and Storage pages).
    for user in u.values():
        assert get(user, "host_charts", code=world["host"].code).status_code == 200
        assert get(user, "pool_chart", code=world["host"].code, pool="zroot").status_code == 200
    assert get(u["owner"], "pool_chart", code=world["host"].code, pool="tank").status_code == 404


def test_domu_series_shape_from_seeded_samples(world) -> None:  # type: ignore[no-untyped-def]
    response = get(world["users"]["owner"], "domain_charts", code=world["web"].code)
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "private, max-age=30"
    body = response.json()
    assert (body["window"], body["resolution"]) == ("1h", "raw")
    assert [c["id"] for c in body["charts"]] == ["cpu", "memory", "disk", "net"]
    cpu, memory, disk, net = body["charts"]
    assert len(cpu["data"]) == 2 and len(cpu["data"][0]) == 10
    assert cpu["data"][1] == [40.0] * 10
    assert all(isinstance(t, int) for t in cpu["data"][0]) and cpu["data"][0] == sorted(
        cpu["data"][0]
    )
    assert (memory["unit"], memory["data"][1][0]) == ("bytes", 1024 * MIB)
    assert disk["series"] == ["read", "write"] and disk["data"][1][0] == 1000.0
    assert net["unit"] == "bps" and net["data"][2][0] == 50.0


def test_host_series_sums_its_domus_io_and_derives_used_memory(world) -> None:  # type: ignore[no-untyped-def]
    body = get(world["users"]["viewer"], "host_charts", code=world["host"].code).json()
    cpu, memory, disk, net = body["charts"]
    assert cpu["series"] == ["domUs", "Domain-0"]
    assert cpu["data"][1] == [20.0 + i for i in range(10)]
    assert memory["data"][1][0] == (8192 - 4096) * MIB and memory["data"][2][0] == 8192 * MIB
    assert disk["data"][1] == [2000.0] * 10  # web1 + db1
    assert net["data"][1] == [200.0] * 10 and len(net["data"][0]) == 10


def test_windows_cache_and_a_bad_window(world) -> None:  # type: ignore[no-untyped-def]
    owner, code = world["users"]["owner"], world["host"].code
    month = get(owner, "host_charts", "?window=1m", code=code)
    assert month.status_code == 200 and month["Cache-Control"] == "private, max-age=600"
    assert month.json()["resolution"] == "1h"
    bad = get(owner, "host_charts", "?window=2y", code=code)
    assert bad.status_code == 400 and "1h, 1d, 1w, 1m" in bad.json()["error"]


def test_pool_fill_and_its_projection(world) -> None:  # type: ignore[no-untyped-def]
    body = get(world["users"]["owner"], "pool_chart", code=world["host"].code, pool="zroot").json()
    assert body["window"] == "1w" and body["pool"] == "zroot"
    fill = body["charts"][0]
    assert fill["unit"] == "pct" and fill["data"][1][-1] == pytest.approx(67.0)
    projection = body["projection"]
    assert projection["status"] == "filling"
    assert projection["days"] == pytest.approx(33, abs=0.1)
    assert projection["text"] == "fills in ~33 days"


def test_dashboard_sparklines_and_busiest_domus_hide_what_the_user_may_not_see(world) -> None:  # type: ignore[no-untyped-def]
    owner = get(world["users"]["owner"], "dashboard_charts").json()
    assert [h["name"] for h in owner["hosts"]] == ["xen1"]
    spark = owner["hosts"][0]
    assert len(spark["data"][0]) == 10 and spark["last"] == 34.0  # 5 + 29
    assert [d["name"] for d in owner["top"]] == ["web1"]  # db1 is carol's
    assert owner["top"][0]["url"] == world["web"].get_absolute_url()
    other = get(world["users"]["other"], "dashboard_charts").json()
    assert [(d["name"], d["cpu"]) for d in other["top"]] == [("db1", 90.0)]


def test_dashboard_summary_queries_do_not_grow_with_hosts(
    world, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for i in range(20):
        Host.objects.create(name=f"xen-extra{i}", transport="local")
    client = client_for(world["users"]["owner"])
    url = reverse("monitoring:dashboard_charts")
    with django_assert_max_num_queries(8):
        assert len(client.get(url).json()["hosts"]) == 21
