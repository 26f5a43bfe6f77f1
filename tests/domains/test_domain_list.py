"""The domU list: search, filters, sort and pages in the URL; a query count that stays flat; the
poll that sends only changed rows; bulk actions with the page's permission rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from domains import listing
from domains.models import Domain
from hosts.models import Host
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.enqueue import Target, add_targets
from jobs.models import Job

pytestmark = pytest.mark.django_db
LIST = reverse("domains:list")
CHANGES = reverse("domains:list_changes")
BULK = reverse("domains:bulk")
HTMX = {"HX-Request": "true"}
#: What a refresh stores on a host: large JSON documents the list must never read.
FACTS = {"xen_version": "4.18.0", "domains": [{"name": f"x{i}", "domid": i} for i in range(300)]}


def user(django_user_model: Any, name: str, role: str, *teams: Group) -> Any:
    u = django_user_model.objects.create_user(name, password="pw-list-123")
    u.groups.add(Group.objects.get(name=role), *teams)
    return u


def seed(owner: Any, count: int, *, hosts: int = 2, team: Group | None = None) -> list[Domain]:
    made = [
        Host.objects.create(name=f"xen{h}", transport="sim", status="ok", facts=FACTS)
        for h in range(hosts)
    ]
    states = ["running", "blocked", "not_running", "paused"]
    Domain.objects.bulk_create(
        Domain(
            host=made[i % hosts],
            name=f"vm{i:03d}",
            owner=owner,
            team=team,
            memory_mb=256 + i,
            vcpus=1 + i % 4,
            vnc_display=i + 1,
            state=states[i % 4],
            tags=["web"] if i % 3 else [],
        )  # fmt: skip
        for i in range(count)
    )
    return list(Domain.objects.order_by("name"))


def client_of(u: Any) -> Client:
    c = Client()
    c.force_login(u)
    return c


def names(body: bytes) -> list[str]:
    return re.findall(r'<tr id="domain-row-\d+" data-domain="([^"]+)"', body.decode())


def token_of(body: bytes) -> str:
    found = re.search(r"changes/\?v=([0-9a-f._]*)", body.decode())
    assert found, "no poll on the page"
    return found.group(1)


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return user(django_user_model, "alice", "operator")


# --- query counts --------------------------------------------------------------------------------
def count_queries(c: Client, url: str, **kwargs: Any) -> tuple[int, list[str]]:
    c.get(url, **kwargs)  # warm: session, content types
    with CaptureQueriesContext(connection) as ctx:
        response = c.get(url, **kwargs)
    assert response.status_code in (200, 204), response.status_code
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "partial"])
def test_the_list_runs_the_same_queries_at_10_and_200_rows(alice: Any, htmx: bool) -> None:
    headers = HTMX if htmx else {}
    seed(alice, 10)
    few, _ = count_queries(client_of(alice), LIST, headers=headers)
    Domain.objects.all().delete()
    Host.objects.all().delete()
    seed(alice, 200)
    many, sqls = count_queries(client_of(alice), LIST, headers=headers)
    assert few == many
    # A host's facts and readiness (JSON decoded per row) are never read by the list.
    assert not [s for s in sqls if '"facts"' in s or '"readiness"' in s]


def test_the_poll_runs_the_same_queries_at_10_and_200_rows(alice: Any) -> None:
    c = client_of(alice)
    seed(alice, 10)
    small = listing.token(listing.decorate(listing.to_rows(listing.rows_for_user(alice))))
    Domain.objects.filter(name="vm003").update(state="crashed")
    few, _ = count_queries(c, f"{CHANGES}?v={small}")
    Domain.objects.all().delete()
    Host.objects.all().delete()
    seed(alice, 200)
    big = listing.token(listing.decorate(listing.to_rows(listing.rows_for_user(alice))))
    Domain.objects.filter(name="vm003").update(state="crashed")
    many, sqls = count_queries(c, f"{CHANGES}?v={big}")
    assert few == many
    assert not [s for s in sqls if '"facts"' in s]


# --- search, filters, sort, pages ----------------------------------------------------------------
def test_search_filters_and_sort_come_from_the_url(alice: Any, django_user_model: Any) -> None:
    lab = Group.objects.create(name="lab")
    seed(alice, 60, team=lab)
    c = client_of(alice)
    page1 = c.get(LIST)
    assert len(names(page1.content)) == listing.PER_PAGE
    assert "page 1 of 2" in page1.content.decode()
    page2 = c.get(LIST, {"page": 2})
    assert len(names(page2.content)) == 10
    assert sorted(names(c.get(LIST, {"q": "VM01"}).content)) == [f"vm01{i}" for i in range(10)]
    crashed = c.get(LIST, {"state": "paused", "host": "xen1", "sort": "name"})
    assert names(crashed.content) == [f"vm{i:03d}" for i in range(60) if i % 4 == 3]
    by_memory = names(c.get(LIST, {"sort": "-memory_mb"}).content)
    assert by_memory[:3] == ["vm059", "vm058", "vm057"]
    tagged = names(c.get(LIST, {"tag": "web", "sort": "name", "q": "vm00"}).content)
    assert tagged == ["vm001", "vm002", "vm004", "vm005", "vm007", "vm008"]
    assert names(c.get(LIST, {"team": "lab", "owner": "alice", "q": "vm000"}).content) == ["vm000"]
    assert names(c.get(LIST, {"owner": "nobody"}).content) == []
    # Links keep the filters: the sort header and the pager carry them.
    body = c.get(LIST, {"state": "running"}).content.decode()
    assert "?state=running&amp;sort=name" in body or "?state=running&amp;sort=-name" in body
    # Nonsense is ignored, not an error.
    assert c.get(LIST, {"sort": "password", "state": "on fire", "page": "x"}).status_code == 200


def test_others_domus_are_not_listed_nor_polled(alice: Any, django_user_model: Any) -> None:
    carol = user(django_user_model, "carol", "operator")
    seed(alice, 5)
    assert names(client_of(carol).get(LIST).content) == []
    token = listing.token(listing.decorate(listing.to_rows(listing.rows_for_user(alice))))
    # carol replays alice's token: every row is "gone" for her, and none is rendered.
    body = client_of(carol).get(CHANGES, {"v": token}).content.decode()
    assert "vm000" not in body and body.count('hx-swap-oob="delete"') == 5


# --- the poll ------------------------------------------------------------------------------------
def test_the_poll_sends_only_the_rows_that_changed(alice: Any) -> None:
    seed(alice, 30)
    c = client_of(alice)
    token = token_of(c.get(LIST, {"sort": "name"}).content)
    assert c.get(CHANGES, {"v": token}, headers=HTMX).status_code == 204
    Domain.objects.filter(name="vm007").update(state="crashed", domid=None)
    response = c.get(CHANGES, {"v": token}, headers=HTMX)
    assert response.status_code == 200
    assert names(response.content) == ["vm007"]
    assert 'data-state="crashed"' in response.content.decode()
    assert len(response.content) < 4000
    # The new token answers 204 again; CPU time alone does not count as a change.
    token = token_of(response.content)
    Domain.objects.filter(name="vm001").update(cpu_seconds=123.0)
    assert c.get(CHANGES, {"v": token}).status_code == 204


def test_a_job_on_a_row_shows_and_speeds_up_the_poll(alice: Any) -> None:
    domains = seed(alice, 3)
    c = client_of(alice)
    page = c.get(LIST)
    token = token_of(page.content)
    assert "every 15s" in page.content.decode()
    job = Job.objects.create(
        kind="domain.shutdown", title="Shut down vm001", requested_by=alice,
        status=ACTIVE_JOB_STATUSES[0],
    )  # fmt: skip
    add_targets(job, [Target.locking("domain", domains[1])])
    response = c.get(CHANGES, {"v": token})
    body = response.content.decode()
    assert names(response.content) == ["vm001"] and f"job #{job.pk}" in body
    assert "every 2s" in body and "fast=1" in body


# --- bulk actions --------------------------------------------------------------------------------
def test_bulk_actions_queue_one_job_per_domu_and_report_refusals(alice: Any) -> None:
    domains = {d.name: d for d in seed(alice, 4)}
    c = client_of(alice)
    ids = [domains[n].pk for n in ("vm000", "vm001", "vm002")]  # running, running, not running
    response = c.post(BULK, {"action": "shutdown", "ids": ids, "back": "state=running&x=1"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}?state=running"
    shown = [str(m) for m in response.wsgi_request._messages]  # noqa: SLF001
    assert any("vm000 (job #" in m and "vm001 (job #" in m for m in shown), shown
    assert any(m.startswith("1 domU not shut down: vm002 is not running") for m in shown), shown
    kinds = Job.objects.values_list("kind", "target_label")
    assert sorted(kinds) == [("domain.shutdown", "vm000"), ("domain.shutdown", "vm001")]


def test_bulk_actions_follow_the_page_rules(alice: Any, django_user_model: Any) -> None:
    lab = Group.objects.create(name="lab")
    vera = user(django_user_model, "vera", "viewer", lab)
    carol = user(django_user_model, "carol", "operator")
    ids = [d.pk for d in seed(alice, 2, team=lab)]
    assert client_of(vera).post(BULK, {"action": "destroy", "ids": ids}).status_code == 403
    response = client_of(carol).post(BULK, {"action": "destroy", "ids": ids})
    assert response.status_code == 302
    shown = [str(m) for m in response.wsgi_request._messages]  # noqa: SLF001
    assert shown == [
        "2 of the selected domUs no longer exist; nothing was done to them. "
        "The list shows what is there now."
    ]
    assert not Job.objects.exists()
    assert Client().post(BULK, {"action": "destroy", "ids": ids}).status_code == 302  # sign in
    assert not Job.objects.exists()
    assert client_of(alice).get(BULK).status_code == 405
