"""The migration plan from cached facts: mode, panel checks and receiver checks (no host runs)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Quota
from domains.migration import checks
from domains.models import Domain, DomainNic
from hosts.models import Host
from storage.models import IsoImage, Pool, Volume

pytestmark = pytest.mark.django_db

GIB = 2**30
READY = [{"key": "bridge", "title": "Network bridge bridge0 for guests", "status": "pass",
          "detail": "bridge0 exists and is in cloned_interfaces."}]  # fmt: skip


def make_host(name: str, *, free: int = 8192, **extra: Any) -> Host:
    facts = {
        "xen_version": "4.18.0",
        "virt_caps": ["hvm", "hap", "shadow", "pv"],
        "free_memory_mib": free,
        "nr_cpus": 8,
        "domains": [{"name": "Domain-0", "domid": 0}],
    }
    values: dict[str, Any] = {"status": "ok", "facts": facts, "readiness": READY}
    values.update(extra)
    host = Host.objects.create(name=name, transport="sim", **values)
    Pool.objects.create(
        host=host, name="zroot", free_bytes=100 * GIB, health="ONLINE", seen_at=timezone.now()
    )
    return host


def make_domain(host: Host, name: str = "web1", *, owner: Any = None, **extra: Any) -> Domain:
    volume = Volume.objects.create(
        host=host, dataset=f"zroot/xen/{name}-disk0", size_bytes=20 * GIB, state="ready",
        owner=owner,
    )  # fmt: skip
    values = {"memory_mb": 1024, "vcpus": 2, "state": "running", "bridge": "bridge0"}
    values.update(extra)
    domain = Domain.objects.create(host=host, name=name, volume=volume, owner=owner, **values)
    DomainNic.objects.create(domain=domain, position=0, mac="00:16:3e:00:00:01", bridge="bridge0")
    return domain


def by_key(plan: checks.Plan) -> dict[str, checks.Check]:
    return {c.key: c for c in plan.checks}


def test_local_volumes_plan_a_storage_migration_that_passes():
    a, b = make_host("xen-a"), make_host("xen-b")
    plan = checks.plan(make_domain(a), b)
    assert plan.mode == "storage"
    assert "zfs send/recv" in plan.why
    assert not plan.blocking, [c.message for c in plan.failed]
    found = by_key(plan)
    assert (
        found["pool_space"].status == "pass"
        and "20.0 GiB in 'zroot'" in found["pool_space"].message
    )
    assert found["bridges"].status == "pass"
    assert found["memory"].status == "pass"


def test_shared_storage_plans_a_live_migration_without_copying():
    a, b = make_host("xen-a", shared_storage="san1"), make_host("xen-b", shared_storage="san1")
    plan = checks.plan(make_domain(a), b)
    assert plan.mode == "live"
    assert "shared storage 'san1': disks are not copied" == plan.why
    assert by_key(plan)["pool_space"].message.startswith("No volumes to copy")
    assert "quota" not in by_key(plan)


def test_live_needs_a_running_domu_storage_does_not():
    a, b = make_host("xen-a", shared_storage="san1"), make_host("xen-b", shared_storage="san1")
    stopped = make_domain(a, state="not_running")
    plan = checks.plan(stopped, b)
    assert plan.blocking and by_key(plan)["state"].status == "fail"
    assert "Start it first" in by_key(plan)["state"].message
    c = make_host("xen-c")
    assert not checks.plan(stopped, c).blocking


def test_the_source_itself_maintenance_and_unreachable_targets_fail():
    a = make_host("xen-a")
    domain = make_domain(a)
    assert checks.plan(domain, a).blocking
    down = make_host("xen-down", status="unreachable", status_reason="Operation timed out")
    found = by_key(checks.plan(domain, down))
    assert found["receiver_reachable"].status == "fail"
    assert "Operation timed out" in found["receiver_reachable"].message
    resting = make_host("xen-rest", maintenance=True)
    assert by_key(checks.plan(domain, resting))["maintenance"].status == "fail"


def test_readiness_failing_blocks_and_never_checked_warns():
    a = make_host("xen-a")
    domain = make_domain(a)
    bad = make_host("xen-bad", readiness=[{"key": "xencommons", "title": "xencommons enabled",
                                           "status": "fail", "detail": "NO"}])  # fmt: skip
    ready = by_key(checks.plan(domain, bad))["ready"]
    assert ready.status == "fail" and "xencommons enabled" in ready.message
    fresh = make_host("xen-new", readiness=[])
    assert by_key(checks.plan(domain, fresh))["ready"].status == "warn"


def test_not_enough_memory_fails_with_what_to_do():
    a, small = make_host("xen-a"), make_host("xen-small", free=512)
    check = by_key(checks.plan(make_domain(a), small))["memory"]
    assert check.status == "fail"
    assert "512 MiB free" in check.message and "1024 MiB" in check.message


def test_an_unknown_bridge_is_a_warning_not_a_failure():
    a, b = make_host("xen-a"), make_host("xen-b")
    domain = make_domain(a)
    DomainNic.objects.create(domain=domain, position=1, mac="00:16:3e:00:00:02", bridge="bridge7")
    plan = checks.plan(domain, b)
    assert by_key(plan)["bridges"].status == "warn"
    assert "bridge0" in by_key(plan)["bridges"].message
    assert not plan.blocking


def test_name_clashes_on_the_receiver():
    a, b = make_host("xen-a"), make_host("xen-b")
    domain = make_domain(a)
    Domain.objects.create(host=b, name="web1", memory_mb=512, state="not_running")
    assert by_key(checks.plan(domain, b))["panel_name"].status == "fail"
    c = make_host("xen-c")
    c.facts["domains"].append({"name": "web1", "domid": 7})
    c.save()
    assert by_key(checks.plan(domain, c))["name"].status == "fail"
    d = make_host("xen-d")
    Volume.objects.create(host=d, dataset="zroot/xen/web1-disk0", size_bytes=GIB, state="ready")
    assert by_key(checks.plan(domain, d))["datasets"].status == "fail"


def test_pool_too_small_fails():
    a, b = make_host("xen-a"), make_host("xen-b")
    Pool.objects.filter(host=b).update(free_bytes=GIB)
    check = by_key(checks.plan(make_domain(a), b))["pool_space"]
    assert check.status == "fail" and "1.0 GiB free" in check.message


def test_an_attached_iso_must_be_ejected_or_on_the_receiver():
    from domains import records

    a, b = make_host("xen-a"), make_host("xen-b")
    domain = make_domain(a)
    iso_path = f"{a.iso_dir}/install.iso"
    records.add_version(
        domain,
        'name = "web1"\ntype = "hvm"\nmemory = 1024\nvcpus = 2\n'
        'disk = ["/dev/zvol/zroot/xen/web1-disk0,raw,hda,w", '
        f'"{iso_path},raw,hdc:cdrom,r"]\nvif = ["bridge=bridge0"]\n',
    )
    check = by_key(checks.plan(domain, b))["iso"]
    assert check.status == "fail" and "eject it first" in check.message
    IsoImage.objects.create(host=b, file_name="install.iso", size_bytes=10, state="ready")
    assert by_key(checks.plan(domain, b))["iso"].status == "pass"


def test_the_owner_quota_must_hold_a_second_copy(django_user_model):
    alice = django_user_model.objects.create_user("alice", password="pw-alice-123")
    a, b = make_host("xen-a"), make_host("xen-b")
    domain = make_domain(a, owner=alice)
    Quota.objects.create(user=alice, disk_bytes=30 * GIB)
    check = by_key(checks.plan(domain, b))["quota"]
    assert check.status == "fail" and "Quota exceeded for disk" in check.message
    Quota.objects.filter(user=alice).update(disk_bytes=50 * GIB)
    assert by_key(checks.plan(domain, b))["quota"].status == "pass"
