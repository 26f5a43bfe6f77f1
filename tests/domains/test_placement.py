"""Placement: the host with the most free memory that fits, for new domUs and moved ones."""

from __future__ import annotations

import pytest
from django.urls import reverse

from domains.migration import placement
from tests.domains.test_migration_checks import make_domain, make_host

pytestmark = pytest.mark.django_db


def test_suggest_picks_most_free_memory_that_fits(admin_user):
    make_host("xen-a", free=4096)
    big = make_host("xen-b", free=16384)
    make_host("xen-c", free=8192)
    assert placement.suggest_host(1024, 1, user=admin_user) == big
    assert placement.suggest_host(1024, 1, user=admin_user, exclude=[big]).name == "xen-c"
    assert placement.suggest_host(32768, 1, user=admin_user) is None


def test_suggest_skips_maintenance_unreachable_and_unready_hosts(admin_user):
    make_host("xen-rest", free=64000, maintenance=True)
    make_host("xen-down", free=64000, status="unreachable")
    make_host("xen-bad", free=64000, readiness=[{"key": "x", "status": "fail", "title": "x"}])
    ok = make_host("xen-ok", free=2048)
    assert placement.suggest_host(1024, 1, user=admin_user) == ok


def test_pick_target_takes_the_first_that_passes_the_checks():
    a = make_host("xen-a")
    domain = make_domain(a)  # 20 GiB volume
    roomy_but_full = make_host("xen-b", free=32000)
    roomy_but_full.pools.update(free_bytes=2**30)  # no room for the volume
    fits = make_host("xen-c", free=4096)
    assert placement.pick_target(domain, [a, roomy_but_full, fits]) == fits
    assert placement.pick_target(domain, [a, roomy_but_full]) is None


def test_new_domu_form_preselects_and_names_the_suggestion(admin_client):
    make_host("xen-a", free=2048)
    make_host("xen-b", free=9000)
    page = admin_client.get(reverse("domains:new")).content.decode()
    assert "Suggested: xen-b (most free memory that fits)" in page
    form = admin_client.get(reverse("domains:new")).context["form"]
    assert form.target_host.name == "xen-b"
    # A host the user chose wins over the suggestion.
    chosen = admin_client.get(reverse("domains:new"), {"host": str(form.suggested.code)})
    assert chosen.context["form"].target_host.name == "xen-b"
    a_code = str(type(form.target_host).objects.get(name="xen-a").code)
    assert (
        admin_client.get(reverse("domains:new"), {"host": a_code}).context["host"].name == "xen-a"
    )
