"""The host refresh keeps `xl info` hw_caps and the Xen version words in Host.facts, so the
migration checklist compares two hosts' CPU features instead of "Could not compare"."""

from __future__ import annotations

import pytest

from domains.migration.checks import plan
from domains.models import Domain
from tests.domains.support import poll
from tests.domains.test_migrate_live import pair, sim

pytestmark = pytest.mark.django_db(transaction=True)


def _cpu_check(domain: Domain, target):  # type: ignore[no-untyped-def]
    target.refresh_from_db()
    return next(c for c in plan(domain, target).checks if c.key == "cpu_features")


def test_the_cpu_check_compares_the_hosts_hw_caps(worker, tmp_path):
    a, b = pair(tmp_path)
    for host in (a, b):
        facts = host.facts
        assert facts["hw_caps"].count(":") == 7, facts
        assert (facts["xen_major"], facts["xen_minor"]) == ("4", "18")
    domain = Domain.objects.create(host=a, name="cpu1", memory_mb=256)

    check = _cpu_check(domain, b)
    assert check.status == "pass", check.message

    # The receiver's CPU lacks a feature bit of word 5 that the source's has.
    with sim(b).store.edit() as state:
        state["hw_caps"] = "bfebfbff:77fafbff:2c100800:00000121:0000000f:009c6fbe:00000000:00000100"
    poll(b)
    check = _cpu_check(domain, b)
    assert check.status == "warn" and "hw_caps words [5]" in check.message, check.message
