"""No list page or polled partial issues queries that grow with the rows it shows (issue 16).

Each page is rendered after seeding 10 and then 200 of the objects it lists (domUs, volumes,
ISOs, jobs, hosts, audit entries, users, teams, templates, clones, snapshots, job steps) and must
issue the same number of queries both times. The seed gives every object its own owner and host
where the model allows it, so a lookup per row (owner name, host name, a job's targets) shows.
A page that paginates shows more rows at 200 than at 10 (up to its page size), which is still
growth. `test_it_covers_every_list_and_partial` keeps the set complete: a partial added to the
permission matrix's HTMX lists without a case here fails it.
"""

from __future__ import annotations

import html
import re
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEntry
from domains import records
from domains.models import Domain, DomainSnapshot, DomainTemplate
from hosts.models import Host
from hosts.simhosts import create_sim_host
from jobs.enqueue import Target, add_targets
from jobs.models import Job, JobStep
from storage.models import IsoImage, Volume
from tests.support.roles import roles  # noqa: F401  (fixture)
from tests.test_permission_matrix import CONFIG, HTMX_BRANCHES, HTMX_POLLED

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]

FEW, MANY = 10, 200


@dataclass
class Seeded:
    """The objects the pages are about; rows are added to them by `grow`."""

    host: Host
    domain: Domain  # the domU whose page, snapshots and live partial are rendered
    template: DomainTemplate  # the template whose page lists its clones
    job: Job  # the job whose progress partial lists its steps
    volume: Volume  # web1's disk: its page lists the jobs on it
    iso: IsoImage
    team: Group
    admin: User
    count: int = 0


def grow(s: Seeded, upto: int) -> None:
    """Add rows of every listed kind until there are `upto` of each."""
    start, s.count = s.count, upto
    idx = range(start, upto)
    users = User.objects.bulk_create([User(username=f"user{i:03}", password="!") for i in idx])
    Group.objects.bulk_create([Group(name=f"team{i:03}") for i in idx])
    hosts = Host.objects.bulk_create(
        [
            Host(
                name=f"xen{i:03}",
                transport="sim",
                status="ok",
                facts={"domains": []},
                readiness=[{"key": "xl", "ok": True}],
                nr_cpus=8,
                total_memory_mib=65536,
                free_memory_mib=1024,
                domu_count=1,
                readiness_passed=1,
                readiness_total=1,
            )  # fmt: skip
            for i in idx
        ]
    )
    volumes = Volume.objects.bulk_create(
        [
            Volume(
                host=s.host,
                dataset=f"zroot/xen/d{i:03}-disk0",
                size_bytes=2**30,
                state="ready",
                owner=users[i - start],
                team=s.team,
            )  # fmt: skip
            for i in idx
        ]
    )
    IsoImage.objects.bulk_create(
        [
            IsoImage(
                host=hosts[i - start],
                file_name=f"img{i:03}.iso",
                source="url",
                state="ready",
                owner=users[i - start],
                team=s.team,
                size_bytes=2**20,
            )  # fmt: skip
            for i in idx
        ]
    )
    domains = Domain.objects.bulk_create(
        [
            Domain(
                host=s.host,
                name=f"d{i:03}",
                owner=users[i - start],
                team=s.team,
                memory_mb=512,
                vcpus=1,
                volume=volumes[i - start],
                template=s.template,
                state="running" if i % 2 else "stopped",
            )  # fmt: skip
            for i in idx
        ]
    )
    DomainSnapshot.objects.bulk_create(
        [
            DomainSnapshot(
                domain=s.domain,
                name=f"snap{i:03}",
                mode="stopped",
                state="ready",
                datasets=[s.domain.volume.dataset],
                author=users[i - start],
            )  # fmt: skip
            for i in idx
        ]
    )
    DomainTemplate.objects.bulk_create(
        [
            DomainTemplate(
                host=s.host,
                name=f"tpl{i:03}",
                owner=users[i - start],
                team=s.team,
                config_text=CONFIG,
                memory_mb=512,
                state="ready",
            )  # fmt: skip
            for i in idx
        ]
    )
    JobStep.objects.bulk_create(
        [JobStep(job=s.job, seq=i, label=f"step {i}", argv=["xl"], status="ok") for i in idx]
    )
    for i in idx:
        job = Job.objects.create(
            kind="domain.start", title=f"Start d{i:03}", target_label=f"d{i:03}",
            requested_by=users[i - start], status="succeeded",
        )  # fmt: skip
        dom = domains[i - start]
        add_targets(job, [Target.locking("domain", dom), Target("host", hosts[i - start])])
        # Some jobs on the pages' volume and ISO too.
        if i % 20 == 0:
            add_targets(job, [Target("volume", s.volume), Target("iso", s.iso)])
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor=users[i - start],
                actor_name=f"user{i:03}",
                action="login",
                target_type="domain",
                target_label=f"d{i:03}",
                details={"why": "seed"},
            )  # fmt: skip
            for i in idx
        ]
    )


@pytest.fixture
def seeded(tmp_path: Path, django_user_model: Any) -> Seeded:
    admin = django_user_model.objects.create_user("ada", password="x")
    admin.groups.add(Group.objects.get(name="admin"))
    team = Group.objects.create(name="lab")
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    vol = Volume.objects.create(
        host=host, dataset="zroot/xen/web1-disk0", size_bytes=2**30, state="ready", owner=admin
    )
    dom = Domain.objects.create(
        host=host, name="web1", owner=admin, team=team, memory_mb=1024, vcpus=1, volume=vol
    )
    records.add_version(dom, CONFIG, author=admin, note="Created")
    tpl = DomainTemplate.objects.create(
        host=host, name="base", owner=admin, team=team, config_text=CONFIG, memory_mb=1024,
        state="ready",
    )  # fmt: skip
    job = Job.objects.create(kind="domain.start", title="Start web1", requested_by=admin)
    add_targets(job, [Target.locking("domain", dom), Target("host", host)])
    iso = IsoImage.objects.create(
        host=host, file_name="mine.iso", source="url", state="ready", owner=admin, team=team
    )
    return Seeded(host, dom, tpl, job, vol, iso, team, admin)


def host(s: Seeded) -> dict[str, Any]:
    return {"code": s.host.code}


def domain(s: Seeded) -> dict[str, Any]:
    return {"code": s.domain.code}


#: Every list page and polled partial: URL name, its kwargs, and whether htmx asks for it.
PAGES: dict[str, tuple[Callable[[Seeded], dict[str, Any]], bool]] = {
    "dashboard": (lambda s: {}, False),
    "dashboard (htmx)": (lambda s: {}, True),
    "domains:list": (lambda s: {}, False),
    "domains:list (htmx)": (lambda s: {}, True),
    "hosts:list": (lambda s: {}, False),
    "hosts:detail": (host, False),
    "hosts:detail (htmx)": (host, True),
    "domains:host_panel": (host, True),
    "storage:host": (host, True),
    "domains:pci_host_panel": (host, True),
    "domains:maintenance_panel": (host, True),
    "storage:index": (lambda s: {}, False),
    "isos:list": (lambda s: {}, False),
    "isos:list (htmx)": (lambda s: {}, True),
    "jobs:list": (lambda s: {}, False),
    "jobs:list (htmx)": (lambda s: {}, True),
    "jobs:progress": (lambda s: {"code": s.job.code}, True),
    "audit:list": (lambda s: {}, False),
    "audit:list (htmx)": (lambda s: {}, True),
    "users:list": (lambda s: {}, False),
    "users:teams": (lambda s: {}, False),
    "domains:templates": (lambda s: {}, False),
    "domains:template": (lambda s: {"code": s.template.code}, False),
    "domains:detail": (domain, False),
    "domains:detail (htmx)": (domain, True),
    "domains:live": (domain, True),
    "domains:snapshots": (domain, True),
    "storage:volume": (lambda s: {"code": s.volume.code}, True),
    "isos:detail": (lambda s: {"code": s.iso.code}, True),
    # Answered by `changes_url`: the poll URL the domU list page gives, after every row changed.
    "domains:list_changes": (lambda s: {}, True),
}

#: List pages without an htmx branch that must be here too.
LIST_PAGES = {
    "hosts:list",
    "storage:index",
    "users:list",
    "users:teams",
    "domains:templates",
    "domains:template",
}


def test_it_covers_every_list_and_partial() -> None:
    names = {key.split(" ")[0] for key in PAGES}
    missing = (set(HTMX_BRANCHES) | set(HTMX_POLLED) | LIST_PAGES) - names
    assert not missing, f"add these to PAGES: {sorted(missing)}"
    for name in set(HTMX_BRANCHES) | set(HTMX_POLLED):
        # A page with an htmx branch is counted both ways.
        htmx = [key for key in PAGES if key.split(" ")[0] == name and PAGES[key][1]]
        assert htmx, f"count the htmx answer of {name} too"


def count_queries(client: Client, url: str, htmx: bool) -> tuple[int, list[tuple[str, str]]]:
    """The number of queries a GET runs, and each statement with the project line that ran it."""
    headers = {"HX-Request": "true"} if htmx else {}
    ran: list[tuple[str, str]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        ran.append((sql, _caller()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.get(url, headers=headers)
    assert response.status_code in (200, 286), (url, response.status_code)
    if "/changes/" in url:
        assert response.content.count(b"hx-swap-oob") > 1, "the poll sent no changed rows"
    return len(ran), ran


def _caller() -> str:
    """The innermost frames of this project (not the libraries, not this module) running SQL."""
    root = str(Path(__file__).resolve().parent.parent)
    frames = [
        f"{Path(f.filename).relative_to(root)}:{f.lineno}"
        for f in traceback.extract_stack()
        if f.filename.startswith(root) and ".venv" not in f.filename and f.filename != __file__
    ]
    return " < ".join(reversed(frames[-3:]))


def changes_url(client: Client, state: str) -> str:
    """The changes poll of the domU list as its page names it, then every domU's state flipped:
    the answer carries every row of the page (as the browser would ask for it, token and all)."""
    page = client.get(reverse("domains:list")).content.decode()
    found = re.search(r'hx-get="([^"]*/changes/[^"]*)"', page)
    assert found, "the domU list page names no changes poll"
    Domain.objects.update(state=state)
    return html.unescape(found.group(1))


#: Known to grow, each with why; strict, so that the fix makes the test fail until this goes.
KNOWN_GROWTH: dict[str, str] = {}


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(key, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GROWTH[key]))
        if key in KNOWN_GROWTH
        else key
        for key in sorted(PAGES)
    ],
)
def test_its_query_count_does_not_grow_with_the_rows(seeded: Seeded, key: str) -> None:
    kwargs, htmx = PAGES[key]
    name = key.split(" ")[0]
    url = reverse(name, kwargs=kwargs(seeded))
    client = Client()
    client.force_login(seeded.admin)
    grow(seeded, FEW)
    client.get(url)  # warm the per-process caches (content types, the session)
    if name == "domains:list_changes":
        url = changes_url(client, "paused")
    few, _ = count_queries(client, url, htmx)
    grow(seeded, MANY)
    if name == "domains:list_changes":
        url = changes_url(client, "crashed")
    many, sql = count_queries(client, url, htmx)
    assert many == few, f"{url}: {few} queries at {FEW} rows, {many} at {MANY}; " + repeated(sql)


def repeated(ran: list[tuple[str, str]]) -> str:
    """The statements run more than once (literals blanked), most frequent first: the culprits."""
    shapes = Counter((re.sub(r"'[^']*'|\b\d+\b", "?", sql), where) for sql, where in ran)
    return "repeated:\n" + "\n".join(
        f"{n} x {sql[:300]}\n    from {where}" for (sql, where), n in shapes.most_common(4) if n > 1
    )
