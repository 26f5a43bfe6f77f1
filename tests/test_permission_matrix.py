"""The permission matrix: every URL the project defines answers each kind of visitor as listed.

Visitors: the *owner* of the objects (an operator, alice), a *teammate* operator (bob; the objects
are shared with his team), an *other* operator (carol), a *viewer* in the team (vera), an *admin*
(ada, a member of the admin group) and an *anonymous* visitor. Invisible objects answer 404,
visible ones a user may not change 403, anonymous visitors go to the sign-in page (302). A URL
pattern without an entry in TABLE fails the test, so a new view cannot ship without deciding who
may use it.

Four checks build on the table:

- TABLE: one request per URL (with no or harmless data) and the status each visitor gets.
- HTMX: the partials htmx polls answer with the same status as their pages.
- LISTINGS: list pages show a visitor what they may see and nothing of anyone else's.
- WRITES: state-changing requests with valid data; an accepted one (2xx/302) must really have
  changed the database (or the upload's bytes), a refused one must have changed nothing. They go
  through a client that enforces CSRF, with the token taken from a page as the browser does.

Actions are sent for real (no mocks): a job a view queues is created, but its Celery message
would go out only on commit, which this test's transaction never reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from domains import records
from domains.models import Domain
from hosts.forms import HostForm
from hosts.models import Host
from hosts.simhosts import create_sim_host
from jobs.enqueue import Target, add_targets
from jobs.models import Job
from storage.models import IsoImage, UploadSession, Volume
from tests.support.csrf import csrf_token
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]

OWNER, TEAMMATE, OTHER, VIEWER, ADMIN, ANON = (
    "owner",
    "teammate",
    "other",
    "viewer",
    "admin",
    "anonymous",
)
VISITORS = (OWNER, TEAMMATE, OTHER, VIEWER, ADMIN, ANON)
PASSWORD = "Old-Lantern-41"  # every world user's; only password_change needs one

CONFIG = """name = "web1"
type = "hvm"
memory = 1024
vcpus = 1
disk = ["/dev/zvol/zroot/xen/web1-disk0,raw,hda,w"]
vif = ["bridge=bridge0"]
vnc = 1
vnclisten = "127.0.0.1"
vncdisplay = 1
vncunused = 0
"""


# --- expectations -------------------------------------------------------------------------------
def signed_in(code: int) -> dict[str, int]:
    """Every signed-in visitor gets `code`; anonymous ones are sent to sign in."""
    return {OWNER: code, TEAMMATE: code, OTHER: code, VIEWER: code, ADMIN: code, ANON: 302}


def admins_only(code: int) -> dict[str, int]:
    """The admin gets `code`; everyone else signed in is refused."""
    return {**signed_in(403), ADMIN: code}


def operators(code: int) -> dict[str, int]:
    """Any operator (and the admin) may, on no particular object; viewers are read-only."""
    return {**signed_in(code), VIEWER: 403}


def owned_read(code: int = 200) -> dict[str, int]:
    """Owner, team and admins see it; others do not know it exists."""
    return {**signed_in(code), OTHER: 404}


def owned_write(code: int) -> dict[str, int]:
    """Owner, teammate and admins may act; the team's viewer sees it but may not; others 404."""
    return {**signed_in(code), OTHER: 404, VIEWER: 403}


#: An upload belongs to the person sending it (and admins): anyone else gets 404.
UPLOADER = {OWNER: 200, TEAMMATE: 404, OTHER: 404, VIEWER: 404, ADMIN: 200, ANON: 302}


@dataclass
class Case:
    method: str
    expect: dict[str, int]
    kwargs: Callable[[Any], dict[str, Any]] = lambda w: {}
    data: dict[str, Any] = field(default_factory=dict)


def alert_rule(w: Any) -> int:
    from monitoring.models import AlertRule

    return AlertRule.objects.get_or_create(name="pools", kind="pool_full", threshold=80)[0].pk


def host(w: Any) -> dict[str, Any]:
    return {"code": w.host.code}


def domain(w: Any) -> dict[str, Any]:
    return {"code": w.domain.code}


def volume(w: Any) -> dict[str, Any]:
    return {"code": w.volume.code}


def iso(w: Any) -> dict[str, Any]:
    return {"code": w.iso.code}


def job(w: Any) -> dict[str, Any]:
    return {"code": w.job.code}


def upload(w: Any) -> dict[str, Any]:
    return {"code": w.upload.code}


GET, POST, PUT, DELETE = "get", "post", "put", "delete"

TABLE: dict[str, Case] = {
    # the panel as a whole, and accounts
    "dashboard": Case(GET, signed_in(200)),
    "login": Case(GET, {**signed_in(302), ANON: 200}),
    "logout": Case(POST, {**signed_in(302), ANON: 302}),
    "password_change": Case(GET, signed_in(200)),
    "password_change_done": Case(GET, signed_in(200)),
    "audit:list": Case(GET, admins_only(200)),
    # hosts: everyone signed in sees them, only admins change them
    "hosts:list": Case(GET, signed_in(200)),
    "hosts:create": Case(GET, admins_only(200)),
    "hosts:detail": Case(GET, signed_in(200), host),
    "hosts:edit": Case(GET, admins_only(200), host),
    "hosts:refresh": Case(POST, admins_only(302), host),
    "hosts:fetch_key": Case(POST, admins_only(302), host),
    "hosts:pin_key": Case(POST, admins_only(302), host),
    "hosts:delete": Case(POST, admins_only(302), host),  # no confirmation: refused by message
    # domUs
    "domains:list": Case(GET, signed_in(200)),
    "domains:new": Case(GET, operators(200)),
    "domains:preview": Case(POST, operators(200)),
    "domains:host_panel": Case(GET, signed_in(200), host),
    "domains:import": Case(POST, admins_only(302), host, {"name": "stray"}),
    "domains:detail": Case(GET, owned_read(), domain),
    "domains:live": Case(GET, owned_read(), domain),
    "domains:vnc_password": Case(POST, owned_write(200), domain),
    "domains:action": Case(
        POST, owned_write(302), lambda w: {"code": w.domain.code, "action": "start"}
    ),
    "domains:finish_install": Case(POST, owned_write(302), domain),
    "domains:cd_insert": Case(POST, owned_write(302), domain),
    "domains:delete": Case(POST, owned_write(302), domain),
    "domains:history": Case(GET, owned_read(), domain),
    "domains:restore": Case(POST, owned_write(302), lambda w: {"code": w.domain.code, "number": 1}),
    # console
    "console:page": Case(GET, owned_read(), domain),
    # 409: allowed, but the domU is not running (nothing to connect to)
    "console:ticket": Case(POST, owned_write(409), domain),
    # ISO library
    "isos:list": Case(GET, signed_in(200)),
    "isos:fetch": Case(GET, operators(200)),
    "isos:upload": Case(GET, operators(200)),
    "isos:upload_create": Case(POST, operators(400)),  # allowed; the empty form is refused
    # an upload belongs to the browser session of the person sending it (PUT/DELETE: WRITES)
    "isos:upload_chunk": Case(GET, UPLOADER, upload),
    "isos:detail": Case(GET, owned_read(), iso),
    "isos:cancel": Case(POST, owned_write(302), iso),
    "isos:delete": Case(POST, owned_write(302), iso),
    # only for an image that did not become usable; a ready one is refused with a message
    "isos:remove": Case(POST, owned_write(302), iso),
    # volumes
    "storage:volume": Case(GET, owned_read(), volume),
    "storage:volume_destroy": Case(POST, owned_write(302), volume),
    # only for a failed volume (or one never made); a ready one is refused with a message
    "storage:volume_remove": Case(POST, owned_write(302), volume),
    "storage:volume_retry": Case(POST, owned_write(302), volume),
    "storage:host": Case(GET, signed_in(200), host),
    "storage:index": Case(GET, signed_in(200)),
    "storage:volume_new": Case(GET, operators(200), host),
    "storage:volumes_scan": Case(POST, operators(302), host),
    "storage:volume_import": Case(POST, admins_only(302), host, {"dataset": "zroot/xen/legacy0"}),
    # jobs: your own, and those on objects you may see
    "jobs:list": Case(GET, signed_in(200)),
    "jobs:system_check": Case(POST, admins_only(302)),
    "jobs:detail": Case(GET, owned_read(), job),
    "jobs:progress": Case(GET, owned_read(), job),
    "jobs:cancel": Case(POST, {**owned_write(302), TEAMMATE: 403}, job),
    # --- issue 13: edit ---
    "domains:edit": Case(GET, owned_write(200), domain),
    "domains:edit_preview": Case(POST, owned_write(200), domain),
    "domains:volume_grow": Case(POST, owned_write(302), domain),  # no size: refused by message
    # --- issue 13: snapshots ---
    "domains:snapshots": Case(GET, owned_read(), domain),
    "domains:snapshot_create": Case(POST, owned_write(302), domain),
    "domains:snapshot_schedule": Case(POST, owned_write(302), domain),
    "domains:snapshot_sizes": Case(POST, owned_write(302), domain),
    # alice's web1 (not running) has one ready snapshot; rollback without its name is refused
    "domains:snapshot_rollback": Case(
        POST,
        owned_write(302),
        lambda w: {
            "code": w.domain.code,
            "snap": w.domain.snapshots.get_or_create(
                name="before-upgrade",
                defaults={"mode": "stopped", "state": "ready", "datasets": [w.volume.dataset]},
            )[0].code,
        },
    ),
    "domains:snapshot_delete": Case(
        POST,
        owned_write(302),
        lambda w: {
            "code": w.domain.code,
            "snap": w.domain.snapshots.get_or_create(
                name="before-upgrade",
                defaults={"mode": "stopped", "state": "ready", "datasets": [w.volume.dataset]},
            )[0].code,
        },
    ),
    # --- issue 13: templates and clones ---
    "domains:templates": Case(GET, signed_in(200)),
    "domains:template": Case(
        GET,
        owned_read(),
        lambda w: {
            "code": w.host.domain_templates.get_or_create(
                name="tpl1",
                defaults={
                    "owner": w.users[OWNER],
                    "team": w.team,
                    "config_text": CONFIG,
                    "memory_mb": 1024,
                    "state": "ready",
                },
            )[0].code
        },
    ),
    # refused by a message without the typed name (302), like domains:delete
    "domains:template_delete": Case(
        POST,
        owned_write(302),
        lambda w: {
            "code": w.host.domain_templates.get_or_create(
                name="tpl1",
                defaults={
                    "owner": w.users[OWNER],
                    "team": w.team,
                    "config_text": CONFIG,
                    "memory_mb": 1024,
                    "state": "ready",
                },
            )[0].code
        },
    ),
    "domains:clone_new": Case(GET, operators(200)),
    "domains:make_template": Case(POST, owned_write(302), domain),
    "domains:promote": Case(POST, owned_write(302), domain),
    # --- issue 13: pci ---
    "domains:pci_host_panel": Case(GET, signed_in(200), host),
    "domains:pci_read": Case(POST, operators(302), host),
    # admins only; with no PCI listing read yet the change is refused by message (302)
    "domains:pci_assignable": Case(
        POST, admins_only(302), host, {"bdf": "0000:03:00.0", "action": "add"}
    ),
    # refused by message (302) here: the world's domU host has no PCI listing
    "domains:pci_attach": Case(POST, owned_write(302), domain, {"bdf": "0000:03:00.0"}),
    "domains:pci_detach": Case(POST, owned_write(302), domain, {"bdf": "0000:03:00.0"}),
    # --- issue 14: migration ---
    "domains:migrate": Case(GET, owned_write(200), domain),
    "domains:migrate_checks": Case(GET, owned_write(200), domain),
    # refused by message (302): the world's domU has no source volumes left by a migration
    "domains:migration_cleanup": Case(POST, owned_write(302), domain, {"confirm": "web1"}),
    # --- issue 14: evacuation and maintenance ---
    "domains:maintenance_panel": Case(GET, signed_in(200), host),
    "domains:evacuate": Case(GET, admins_only(200), host),
    "domains:maintenance_enter": Case(POST, admins_only(302), host),
    "domains:maintenance_end": Case(POST, admins_only(302), host),  # refused by message here
    # --- session 5: migration access (hosts) ---
    "hosts:migration_access": Case(POST, admins_only(302), host),
    # --- session 5: users and teams ---
    "users:list": Case(GET, admins_only(200)),
    "users:create": Case(GET, admins_only(200)),
    "users:detail": Case(GET, admins_only(200), lambda w: {"pk": w.users[OWNER].pk}),
    # an empty reset: the user's page again with "type a new password twice" (200)
    "users:password": Case(POST, admins_only(200), lambda w: {"pk": w.users[OWNER].pk}),
    "users:unlock": Case(POST, admins_only(302), lambda w: {"pk": w.users[OWNER].pk}),
    "users:teams": Case(GET, admins_only(200)),
    "users:team": Case(GET, admins_only(200), lambda w: {"pk": w.team.pk}),
    # no user chosen, and the team still owns alice's objects: both refused by message
    "users:team_members": Case(POST, admins_only(302), lambda w: {"pk": w.team.pk}),
    "users:team_delete": Case(POST, admins_only(302), lambda w: {"pk": w.team.pk}),
    # --- session 5: console and vnc ---
    # --- session 5: pages and errors ---
    "favicon": Case(GET, {**signed_in(301), ANON: 301}),
    # --- issue 16: lists ---
    # the poll with no rows to compare answers 204; a bulk action with nothing chosen goes back
    "domains:list_changes": Case(GET, signed_in(204)),
    "domains:bulk": Case(POST, operators(302), data={"action": "start"}),
    # --- issue 16: charts and metrics ---
    "monitoring:host_charts": Case(GET, signed_in(200), host),
    "monitoring:domain_charts": Case(GET, owned_read(), domain),
    "monitoring:pool_chart": Case(
        GET,
        signed_in(200),
        lambda w: {
            "code": w.host.code,
            "pool": w.host.pools.get_or_create(
                name="zroot", defaults={"seen_at": w.job.created_at}
            )[0].name,
        },
    ),
    "monitoring:dashboard_charts": Case(GET, signed_in(200)),
    # --- issue 16: alerts ---
    # a scraper's token or an admin's session; no sign-in redirect (scrapers have no session)
    "metrics": Case(GET, {**admins_only(200), ANON: 401}),
    "monitoring:alerts": Case(GET, signed_in(200)),
    "monitoring:alert_rules": Case(GET, admins_only(200)),
    "monitoring:alert_rule_new": Case(GET, admins_only(200)),
    "monitoring:alert_rule_edit": Case(GET, admins_only(200), lambda w: {"pk": alert_rule(w)}),
    # without the typed name the delete is refused by message (302)
    "monitoring:alert_rule_delete": Case(POST, admins_only(302), lambda w: {"pk": alert_rule(w)}),
    # --- issue 15: api pages ---
    "api_docs": Case(GET, signed_in(200)),
    "tokens:list": Case(GET, signed_in(200)),
    # alice's token: she and admins revoke it; nobody else knows it exists
    "tokens:revoke": Case(
        POST,
        {**signed_in(404), OWNER: 302, ADMIN: 302, ANON: 302},
        lambda w: {
            "pk": w.users[OWNER].api_tokens.get_or_create(name="ci", prefix="0badcafe")[0].pk
        },
    ),
}

#: GET URLs htmx requests with `HX-Request: true`: those whose view has a `request.htmx` branch
#: (a partial instead of the page), and the partial-only ones the pages poll.
HTMX_BRANCHES = (
    "dashboard",
    "audit:list",
    "hosts:detail",
    "domains:list",
    "domains:detail",
    "isos:list",
    "isos:detail",
    "storage:volume",
    "jobs:list",
    "domains:snapshots",
)
HTMX_POLLED = (
    "domains:live",
    "domains:host_panel",
    "storage:host",
    "jobs:progress",
    "domains:pci_host_panel",
    "domains:maintenance_panel",
    "domains:list_changes",
)
#: django-htmx's HttpResponseStopPolling: a partial that tells htmx to stop polling.
STOP_POLLING = 286

#: The Django admin is one gate (PanelAdminSite.has_permission: the admin role). Its many
#: generated URLs are checked through these samples; non-admins are sent away from each.
ADMIN_NAMESPACE = "admin"
ADMIN_SAMPLES: list[tuple[str, Callable[[Any], list[Any]]]] = [
    ("admin:index", lambda w: []),
    ("admin:auth_user_changelist", lambda w: []),
    ("admin:auth_user_add", lambda w: []),
    ("admin:auth_user_change", lambda w: [w.users[OWNER].pk]),
    ("admin:auth_group_changelist", lambda w: []),
    ("admin:auth_group_change", lambda w: [w.team.pk]),
    ("admin:accounts_quota_changelist", lambda w: []),
    ("admin:accounts_auditentry_changelist", lambda w: []),
    ("admin:storage_volume_changelist", lambda w: []),
    ("admin:domains_domain_change", lambda w: [w.domain.pk]),
    ("admin:app_list", lambda w: ["hosts"]),
]


# --- the URL map ---------------------------------------------------------------------------------
def walk(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, str]]:
    """Yield (full name, route) for every pattern, descending into includes."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            inner = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            name = entry.name or f"<unnamed {entry.pattern}>"
            yield (f"{namespace}:{name}" if namespace else name), str(entry.pattern)


def project_urls() -> set[str]:
    return {name for name, _ in walk(get_resolver().url_patterns)}


def test_it_has_an_entry_for_every_url_the_project_defines() -> None:
    names = project_urls()
    # The API's routes ("api:…") have their own matrix: tests/api/test_api_matrix.py.
    outside_admin = {n for n in names if not n.startswith((f"{ADMIN_NAMESPACE}:", "api:"))}
    missing = sorted(outside_admin - set(TABLE))
    assert not missing, f"URLs without an entry in the permission matrix: {missing}"
    stale = sorted(set(TABLE) - outside_admin)
    assert not stale, f"Entries for URLs that no longer exist: {stale}"
    assert {name for name, _ in ADMIN_SAMPLES} <= names
    polled = set(HTMX_BRANCHES) | set(HTMX_POLLED) | {w.name for w in WRITES.values()}
    assert polled <= set(TABLE)


# --- the world the matrix runs in --------------------------------------------------------------
@dataclass
class World:
    host: Host
    team: Group
    users: dict[str, Any]
    domain: Domain
    volume: Volume
    iso: IsoImage
    upload: UploadSession
    job: Job
    spare: Volume  # alice's, shared with the team, the disk of no domU
    local: Host  # a host on the local transport (editable through the form)


@pytest.fixture
def world(tmp_path, settings, django_user_model) -> World:  # type: ignore[no-untyped-def]
    settings.UPLOAD_DIR = tmp_path / "uploads"
    # The hasher is not under test here; the default one would cost seconds per password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    team = Group.objects.create(name="lab")
    users = {}
    for key, name, role, in_team in [
        (OWNER, "alice", "operator", False),
        (TEAMMATE, "bob", "operator", True),
        (OTHER, "carol", "operator", False),
        (VIEWER, "vera", "viewer", True),
        (ADMIN, "ada", "admin", False),
    ]:
        user = django_user_model.objects.create_user(name, password=PASSWORD)
        user.groups.add(Group.objects.get(name=role), *([team] if in_team else []))
        users[key] = user
    owner = users[OWNER]
    h = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    vol = Volume.objects.create(
        host=h, dataset="zroot/xen/web1-disk0", size_bytes=2**30, state="ready", owner=owner,
        team=team,
    )  # fmt: skip
    image = IsoImage.objects.create(
        host=h, file_name="mine.iso", source="url", state="ready", owner=owner, team=team
    )
    receiving = IsoImage.objects.create(
        host=h, file_name="coming.iso", source="upload", state="uploading", owner=owner, team=team
    )
    session = UploadSession.objects.create(
        owner=owner, iso=receiving, file_name="coming.iso", size_bytes=10
    )
    # What uploads.create_session leaves: an empty partial file the chunks append to.
    session.local_path.parent.mkdir(parents=True, exist_ok=True)
    session.local_path.touch()
    dom = Domain.objects.create(
        host=h, name="web1", owner=owner, team=team, memory_mb=1024, vcpus=1, volume=vol,
        vnc_display=1, vnc_password="s3cretpw",
    )  # fmt: skip
    records.add_version(dom, CONFIG, author=owner, note="Created")
    j = Job.objects.create(
        kind="domain.start", title="Start web1", target_label=dom.name, requested_by=owner,
    )  # fmt: skip
    add_targets(j, [Target.locking("domain", dom), Target("host", h)])
    spare = Volume.objects.create(
        host=h, dataset="zroot/xen/spare0", size_bytes=2**30, state="ready", owner=owner, team=team
    )
    local = Host.objects.create(name="xen0", transport="local")
    return World(h, team, users, dom, vol, image, session, j, spare, local)


def client_for(world: World, visitor: str, *, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    if visitor != ANON:
        client.force_login(world.users[visitor])
    return client


def is_full_page(body: bytes) -> bool:
    return b"<html" in body


# --- one request per URL -------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(TABLE))
def test_it_answers_each_visitor_as_the_matrix_says(world: World, name: str) -> None:
    case = TABLE[name]
    url = reverse(name, kwargs=case.kwargs(world))
    got = {}
    for visitor in VISITORS:
        client = client_for(world, visitor)
        response = getattr(client, case.method)(url, case.data)
        got[visitor] = response.status_code
    assert got == case.expect, f"{case.method.upper()} {url}"
    if case.method == POST and name != "logout":
        # Actions are POST only: a GET (a link, a prefetch) changes nothing.
        assert client_for(world, OWNER).get(url).status_code == 405, url


@pytest.mark.parametrize("name", HTMX_BRANCHES + HTMX_POLLED)
def test_it_answers_htmx_requests_as_it_answers_the_page(world: World, name: str) -> None:
    case = TABLE[name]
    url = reverse(name, kwargs=case.kwargs(world))
    got = {}
    for visitor in VISITORS:
        response = client_for(world, visitor).get(url, headers={"HX-Request": "true"})
        # A partial with nothing left to watch answers 286 (stop polling): still "shown".
        got[visitor] = 200 if response.status_code == STOP_POLLING else response.status_code
        if got[visitor] == 200:
            assert not is_full_page(response.content), (visitor, url, "a full page, not a partial")
        if visitor == ANON:
            assert response["Location"].startswith(reverse("login")), url
    assert got == case.expect, f"GET {url} (htmx)"


# --- what list pages show ------------------------------------------------------------------------
def alices(w: World) -> dict[str, list[str]]:
    """What a page shows of each of alice's objects (shared with her team): names and links."""
    return {
        "domain": [w.domain.name, w.domain.get_absolute_url()],
        "volume": [w.volume.dataset, w.volume.get_absolute_url()],
        "iso": [w.iso.file_name, w.iso.get_absolute_url()],
        "upload": [w.upload.file_name, w.upload.iso.get_absolute_url()],
        "job": [w.job.title, w.job.get_absolute_url()],
    }


#: Each list page and the kinds of alice's objects it lists (to whoever may see them).
LISTINGS: dict[str, tuple[str, ...]] = {
    "dashboard": ("domain", "job"),
    "hosts:detail": ("domain", "volume", "iso", "upload", "job"),
    "domains:host_panel": ("domain",),
    "storage:host": ("volume", "iso", "upload"),
    "storage:index": ("volume", "iso", "upload"),
    "isos:list": ("iso", "upload"),
    "domains:list": ("domain",),
    "jobs:list": ("job",),
}


@pytest.mark.parametrize("name", sorted(LISTINGS))
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_it_lists_what_each_visitor_may_see_and_nothing_else(
    world: World, name: str, htmx: bool
) -> None:
    if htmx and name not in HTMX_BRANCHES + HTMX_POLLED:
        pytest.skip("no partial")
    url = reverse(name, kwargs=TABLE[name].kwargs(world))
    things = alices(world)
    everything = [marker for markers in things.values() for marker in markers]
    shown = [marker for kind in LISTINGS[name] for marker in things[kind]]
    headers = {"HX-Request": "true"} if htmx else {}
    for visitor in (OWNER, TEAMMATE, VIEWER, ADMIN, OTHER):
        response = client_for(world, visitor).get(url, headers=headers)
        assert response.status_code in (200, STOP_POLLING), (visitor, url)
        body = response.content.decode()
        if visitor == OTHER:
            leaked = [marker for marker in everything if marker in body]
            assert not leaked, f"{url} shows carol alice's {leaked}"
        else:
            missing = [marker for marker in shown if marker not in body]
            assert not missing, f"{url} does not show {visitor} {missing}"


# --- state-changing requests with valid data ---------------------------------------------------
@dataclass
class Write:
    """A request that changes something when accepted, and `state`: what it would change.

    `ok` is the status of an accepted request; any other status means refused (a form error
    answers 200, a refusal 403/404).
    """

    name: str
    method: str
    expect: dict[str, int]
    state: Callable[[World], object]
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    data: Callable[[World], dict[str, Any]] = lambda w: {}
    ok: int = 302


def iso_file(name: str, size: int = 40_000) -> SimpleUploadedFile:
    """A file that passes the upload checks: 'CD001' at byte 32769 (ISO 9660)."""
    data = bytearray(size)
    data[32768:32774] = b"\x01CD001"
    return SimpleUploadedFile(name, bytes(data), "application/octet-stream")


def rows(model: Any, column: str, **match: Any) -> Callable[[World], object]:
    """A state: `column` of the rows matching `match` (a row that appears or changes shows)."""
    return lambda w: list(model.objects.filter(**match).values_list(column, flat=True))


def isos_named(name: str) -> Callable[[World], object]:
    return rows(IsoImage, "state", file_name=name)


def jobs_on(w: World) -> int:
    return Job.objects.on(w.host).count()


def host_form(h: Host, **changes: Any) -> dict[str, Any]:
    data = model_to_dict(h, fields=HostForm.Meta.fields)
    return {**{k: v for k, v in data.items() if v is not None}, **changes}


def domain_form(w: World, **changes: Any) -> dict[str, Any]:
    return {
        "host": w.host.code, "name": "web2", "memory_mb": 512, "vcpus": 1, "disk": "new",
        "disk_gib": 1, "bridge": "bridge0", "vnc_enabled": "on", "vnc_listen": "127.0.0.1",
        "vnc_password": "abcd1234", "serial_pty": "on", "tablet": "on", "autostart_order": 10,
        "autostart_delay": 0,
    } | changes  # fmt: skip


def upload_bytes(w: World) -> tuple[int, object]:
    w.upload.refresh_from_db()
    size = w.upload.local_path.stat().st_size if w.upload.local_path.exists() else -1
    return size, w.upload.received_bytes


def upload_alive(w: World) -> tuple[object, ...]:
    w.upload.refresh_from_db()
    return w.upload.state, w.upload.local_path.exists(), isos_named("coming.iso")(w)


def sent_iso(w: World) -> object:
    """The image row and the files in UPLOAD_DIR (a refused upload leaves no bytes behind)."""
    return isos_named("sent.iso")(w), sorted(p.name for p in w.upload.local_path.parent.iterdir())


def failed_iso(w: World) -> dict[str, Any]:
    """An image of alice's (shared with the team) whose fetch failed: nothing on the host."""
    image, _ = IsoImage.objects.get_or_create(
        host=w.host, file_name="broken.iso",
        defaults={"source": "url", "state": "failed", "owner": w.users[OWNER], "team": w.team},
    )  # fmt: skip
    return {"code": image.code}


def failed_volume(w: World) -> dict[str, Any]:
    """A volume of alice's (shared with the team) whose create failed, the disk of no domU."""
    vol, _ = Volume.objects.get_or_create(
        host=w.host, dataset="zroot/xen/broken0",
        defaults={"size_bytes": 2**30, "state": "failed", "owner": w.users[OWNER], "team": w.team},
    )  # fmt: skip
    return {"code": vol.code}


def new_domain(w: World) -> object:
    return list(Domain.objects.filter(name="web2").values_list("state", flat=True)), jobs_on(w)


#: What an operator outside the team gets when a form names a team member's object: the form
#: is shown again with the error (200), and nothing is made.
SHARED_CHOICE = {**operators(302), OTHER: 200}


def passwords(w: World) -> dict[str, str]:
    return {u.username: u.password for u in type(w.users[OWNER]).objects.all()}


NEW_PASSWORD = "Tangerine-Harbor-93"

WRITES: dict[str, Write] = {
    "hosts:create": Write(
        "hosts:create", POST, admins_only(302),
        rows(Host, "transport", name="xen2"), data=lambda w: host_form(w.local, name="xen2"),
    ),
    "hosts:edit": Write(
        "hosts:edit", POST, admins_only(302),
        rows(Host, "default_bridge", name="xen0"), lambda w: {"code": w.local.code},
        lambda w: host_form(w.local, default_bridge="bridge7"),
    ),
    "hosts:delete": Write(
        "hosts:delete", POST, admins_only(302),
        rows(Host, "pk", name="xen1"), host, lambda w: {"confirm": w.host.name},
    ),
    "isos:fetch": Write(
        "isos:fetch", POST, operators(302), isos_named("fetched.iso"),
        data=lambda w: {"host": w.host.pk, "url": "https://151.101.2.132/pub/fetched.iso"},
    ),
    "isos:upload": Write(
        # The plain form: the whole file in one multipart POST, streamed to UPLOAD_DIR.
        "isos:upload", POST, operators(302), sent_iso,
        data=lambda w: {"host": w.host.pk, "file_name": "sent.iso", "file": iso_file("sent.iso")},
    ),
    "isos:upload_create": Write(
        "isos:upload_create", POST, operators(201), isos_named("big.iso"),
        data=lambda w: {"host": w.host.pk, "file_name": "big.iso", "size": 40_000}, ok=201,
    ),
    "isos:upload_chunk PUT": Write(
        "isos:upload_chunk", PUT, UPLOADER, upload_bytes, upload, lambda w: {"body": b"CD00"},
        ok=200,
    ),
    "isos:upload_chunk DELETE": Write(
        "isos:upload_chunk", DELETE, UPLOADER, upload_alive, upload, ok=200
    ),
    "isos:delete": Write(
        "isos:delete", POST, owned_write(302), jobs_on, iso, lambda w: {"confirm": "mine.iso"}
    ),
    "isos:remove": Write(
        "isos:remove", POST, owned_write(302), isos_named("broken.iso"), failed_iso
    ),
    "storage:volume_remove": Write(
        "storage:volume_remove", POST, owned_write(302),
        rows(Volume, "state", dataset="zroot/xen/broken0"), failed_volume,
    ),
    "storage:volume_retry": Write(
        "storage:volume_retry", POST, owned_write(302),
        rows(Volume, "state", dataset="zroot/xen/broken0"), failed_volume,
    ),
    "domains:new": Write("domains:new", POST, operators(302), new_domain, data=domain_form),
    "domains:new on a team volume": Write(
        "domains:new", POST, SHARED_CHOICE, new_domain,
        data=lambda w: domain_form(w, disk="existing", volume=w.spare.code, disk_gib=""),
    ),
    "domains:new with a team ISO": Write(
        "domains:new", POST, SHARED_CHOICE, new_domain,
        data=lambda w: domain_form(w, iso=w.iso.code),
    ),
    "domains:delete": Write(
        "domains:delete", POST, owned_write(302), jobs_on, domain, lambda w: {"confirm": "web1"}
    ),
    "domains:cd_insert": Write(
        "domains:cd_insert", POST, owned_write(302), jobs_on, domain,
        lambda w: {"iso": w.iso.code},
    ),
    "domains:restore": Write(
        "domains:restore", POST, owned_write(302),
        lambda w: w.domain.versions.count(), lambda w: {"code": w.domain.code, "number": 1},
    ),
    "storage:volume_new": Write(
        "storage:volume_new", POST, operators(302),
        rows(Volume, "state", dataset="zroot/xen/data0"), host,
        lambda w: {"name": "data0", "size": "1G"},
    ),
    "storage:volume_new for a team": Write(
        # Only members may share with a team: alice, carol and ada are not in "lab".
        "storage:volume_new", POST, {**operators(200), TEAMMATE: 302},
        rows(Volume, "team", dataset="zroot/xen/data0"), host,
        lambda w: {"name": "data0", "size": "1G", "team": w.team.pk},
    ),
    "isos:fetch for a team": Write(
        "isos:fetch", POST, {**operators(200), TEAMMATE: 302}, isos_named("fetched.iso"),
        data=lambda w: {"host": w.host.pk, "url": "https://151.101.2.132/pub/fetched.iso",
                        "team": w.team.pk},
    ),
    "jobs:cancel": Write(
        "jobs:cancel", POST, {**owned_write(302), TEAMMATE: 403},
        rows(Job, "status", title="Start web1"), job,
    ),
    "password_change": Write(
        "password_change", POST, signed_in(302), passwords,
        data=lambda w: {
            "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
        },
    ),
}  # fmt: skip


def send(client: Client, write: Write, url: str, data: dict[str, Any], token: str) -> Any:
    """Send `write` as the panel's pages do: forms carry the token, scripts send it as a header."""
    if write.method == POST:
        return client.post(url, {**data, "csrfmiddlewaretoken": token})
    # upload.js: raw bytes at Upload-Offset, the token in X-CSRFToken
    headers = {"X-CSRFToken": token}
    if write.method == PUT:
        headers["Upload-Offset"] = "0"
    return getattr(client, write.method)(
        url, data.get("body", b""), content_type="application/offset+octet-stream", headers=headers
    )


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("key", sorted(WRITES))
def test_it_accepts_a_valid_write_only_from_who_may_and_then_it_happens(
    world: World, key: str, visitor: str
) -> None:
    write = WRITES[key]
    url = reverse(write.name, kwargs=write.kwargs(world))
    client = client_for(world, visitor, enforce_csrf=True)
    token = csrf_token(client, reverse("login" if visitor == ANON else "password_change"))
    before = write.state(world)
    response = send(client, write, url, write.data(world), token)
    after = write.state(world)
    status = response.status_code
    assert status == write.expect[visitor], f"{key} by {visitor}: {status}"
    if visitor == ANON:
        assert response["Location"].startswith(reverse("login")), key
    accepted = visitor != ANON and status == write.ok
    if accepted:
        assert after != before, f"{key} by {visitor} answered {status} but changed nothing"
    else:
        assert after == before, f"{key} by {visitor} was refused ({status}) but changed {after}"


def test_it_refuses_a_write_without_the_csrf_token(world: World) -> None:
    client = client_for(world, OWNER, enforce_csrf=True)
    url = reverse("isos:upload_chunk", kwargs=upload(world))
    before = upload_bytes(world)
    response = client.put(
        url, b"CD00", content_type="application/offset+octet-stream", headers={"Upload-Offset": "0"}
    )
    assert response.status_code == 403
    assert client.delete(url).status_code == 403
    assert upload_bytes(world) == before and upload_alive(world)[0] == "receiving"


def test_it_refuses_an_uploader_who_became_read_only(world: World) -> None:
    """A demoted owner still sees the upload (GET) but may not add bytes or drop it: 403."""
    alice = world.users[OWNER]
    alice.groups.set([Group.objects.get(name="viewer")])
    client = client_for(world, OWNER, enforce_csrf=True)
    token = csrf_token(client, reverse("password_change"))
    url = reverse("isos:upload_chunk", kwargs=upload(world))
    assert client.get(url).status_code == 200
    put = WRITES["isos:upload_chunk PUT"]
    assert send(client, put, url, {"body": b"CD00"}, token).status_code == 403
    assert send(client, WRITES["isos:upload_chunk DELETE"], url, {}, token).status_code == 403
    assert upload_bytes(world) == (0, 0) and upload_alive(world)[0] == "receiving"


def test_it_lets_an_admin_edit_a_simulated_host(world: World) -> None:
    client = client_for(world, ADMIN)
    data = host_form(world.host, default_bridge="bridge7")
    response = client.post(reverse("hosts:edit", kwargs=host(world)), data)
    assert response.status_code == 302
    assert Host.objects.get(pk=world.host.pk).default_bridge == "bridge7"


# --- the Django admin, and roles ---------------------------------------------------------------
def test_it_sends_anonymous_visitors_to_sign_in(world: World) -> None:
    response = Client().get(reverse("domains:detail", kwargs=domain(world)))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_opens_the_admin_to_admins_only(world: World, admin_client: Client) -> None:
    for name, args in ADMIN_SAMPLES:
        url = reverse(name, args=args(world))
        assert admin_client.get(url).status_code == 200, url  # a superuser
        for visitor in VISITORS:
            status = client_for(world, visitor).get(url).status_code
            assert status == (200 if visitor == ADMIN else 302), (visitor, url, status)
    # Signed in but not an admin: the admin's sign-in page refuses instead of looping back.
    assert client_for(world, OWNER).get(reverse("admin:login")).status_code == 403


def test_it_treats_an_admin_group_member_as_an_admin(world: World) -> None:
    ada = world.users[ADMIN]
    assert ada.has_perm("hosts.change_quota") and ada.has_perm("auth.add_user")
    assert not ada.is_superuser and not ada.groups.filter(name="lab").exists()


def test_it_gives_the_role_groups_their_permissions() -> None:
    operator = set(
        Group.objects.get(name="operator").permissions.values_list("codename", flat=True)
    )
    viewer = set(Group.objects.get(name="viewer").permissions.values_list("codename", flat=True))
    admin = Group.objects.get(name="admin").permissions.count()
    assert {"add_domain", "change_domain", "add_volume", "add_isoimage", "view_host"} <= operator
    assert "change_host" not in operator and "add_user" not in operator
    assert {"view_domain", "view_volume", "view_job"} <= viewer
    assert not any(code.startswith(("add_", "change_", "delete_")) for code in viewer)
    assert admin > len(operator)
