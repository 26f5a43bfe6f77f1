"""The permission matrix: every URL the project defines answers each kind of visitor as listed.

Visitors: the *owner* of the objects (an operator), a *teammate* operator (the objects are shared
with their team), an *other* operator, a *viewer* in the team, and an *anonymous* visitor.
Invisible objects answer 404, visible ones a user may not change 403, anonymous visitors go to
the sign-in page (302). A URL pattern without an entry in TABLE fails the test, so a new view
cannot ship without deciding who may use it.

Actions are sent for real (no mocks): a job a view queues is created, but its Celery message
would go out only on commit, which this test's transaction never reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from domains import records
from domains.models import Domain
from hosts.choices import TargetType
from hosts.models import Host, IsoImage, Job, UploadSession, Volume
from hosts.simhosts import create_sim_host
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]

OWNER, TEAMMATE, OTHER, VIEWER, ANON = "owner", "teammate", "other", "viewer", "anonymous"
VISITORS = (OWNER, TEAMMATE, OTHER, VIEWER, ANON)

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
    return {OWNER: code, TEAMMATE: code, OTHER: code, VIEWER: code, ANON: 302}


def admins_only() -> dict[str, int]:
    return signed_in(403)


def operators(code: int) -> dict[str, int]:
    """Any operator may (on no particular object); viewers are read-only."""
    return {OWNER: code, TEAMMATE: code, OTHER: code, VIEWER: 403, ANON: 302}


def owned_read(code: int = 200) -> dict[str, int]:
    """Owner and team see it; others do not know it exists."""
    return {OWNER: code, TEAMMATE: code, OTHER: 404, VIEWER: code, ANON: 302}


def owned_write(code: int) -> dict[str, int]:
    """Owner and teammate may act; the team's viewer sees it but may not; others get 404."""
    return {OWNER: code, TEAMMATE: code, OTHER: 404, VIEWER: 403, ANON: 302}


@dataclass
class Case:
    method: str
    expect: dict[str, int]
    kwargs: Callable[[Any], dict[str, Any]] = lambda w: {}
    data: dict[str, Any] = field(default_factory=dict)


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


GET, POST = "get", "post"

TABLE: dict[str, Case] = {
    # the panel as a whole, and accounts
    "dashboard": Case(GET, signed_in(200)),
    "login": Case(GET, {**signed_in(302), ANON: 200}),
    "logout": Case(POST, {**signed_in(302), ANON: 302}),
    "password_change": Case(GET, signed_in(200)),
    "password_change_done": Case(GET, signed_in(200)),
    "audit:list": Case(GET, admins_only()),
    # hosts: everyone signed in sees them, only admins change them
    "hosts:list": Case(GET, signed_in(200)),
    "hosts:create": Case(GET, admins_only()),
    "hosts:detail": Case(GET, signed_in(200), host),
    "hosts:edit": Case(GET, admins_only(), host),
    "hosts:refresh": Case(POST, admins_only(), host),
    "hosts:fetch_key": Case(POST, admins_only(), host),
    "hosts:pin_key": Case(POST, admins_only(), host),
    "hosts:delete": Case(POST, admins_only(), host),
    # domUs
    "domains:list": Case(GET, signed_in(200)),
    "domains:new": Case(GET, operators(200)),
    "domains:preview": Case(POST, operators(200)),
    "domains:host_panel": Case(GET, signed_in(200), host),
    "domains:import": Case(POST, admins_only(), host, {"name": "stray"}),
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
    # an upload belongs to the browser session of the person sending it
    "isos:upload_chunk": Case(
        GET,
        {OWNER: 200, TEAMMATE: 404, OTHER: 404, VIEWER: 404, ANON: 302},
        lambda w: {"code": w.upload.code},
    ),
    "isos:detail": Case(GET, owned_read(), iso),
    "isos:cancel": Case(POST, owned_write(302), iso),
    "isos:delete": Case(POST, owned_write(302), iso),
    # volumes
    "storage:volume": Case(GET, owned_read(), volume),
    "storage:volume_destroy": Case(POST, owned_write(302), volume),
    "storage:host": Case(GET, signed_in(200), host),
    "storage:volume_new": Case(GET, operators(200), host),
    "storage:volumes_scan": Case(POST, operators(302), host),
    "storage:volume_import": Case(POST, admins_only(), host, {"dataset": "zroot/xen/legacy0"}),
    # jobs: your own, and those on objects you may see
    "jobs:list": Case(GET, signed_in(200)),
    "jobs:system_check": Case(POST, admins_only()),
    "jobs:detail": Case(GET, owned_read(), job),
    "jobs:progress": Case(GET, owned_read(), job),
    "jobs:cancel": Case(POST, {**owned_write(302), TEAMMATE: 403}, job),
}

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
    ("admin:hosts_quota_changelist", lambda w: []),
    ("admin:hosts_auditentry_changelist", lambda w: []),
    ("admin:hosts_volume_changelist", lambda w: []),
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
    outside_admin = {n for n in names if not n.startswith(f"{ADMIN_NAMESPACE}:")}
    missing = sorted(outside_admin - set(TABLE))
    assert not missing, f"URLs without an entry in the permission matrix: {missing}"
    stale = sorted(set(TABLE) - outside_admin)
    assert not stale, f"Entries for URLs that no longer exist: {stale}"
    assert {name for name, _ in ADMIN_SAMPLES} <= names


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


@pytest.fixture
def world(tmp_path, settings, django_user_model) -> World:  # type: ignore[no-untyped-def]
    settings.UPLOAD_DIR = tmp_path / "uploads"
    operator_role, viewer_role = (
        Group.objects.get(name="operator"),
        Group.objects.get(name="viewer"),
    )
    team = Group.objects.create(name="lab")
    users = {}
    for key, name, role, in_team in [
        (OWNER, "alice", operator_role, False),
        (TEAMMATE, "bob", operator_role, True),
        (OTHER, "carol", operator_role, False),
        (VIEWER, "vera", viewer_role, True),
    ]:
        user = django_user_model.objects.create_user(name)  # no password: force_login, and fast
        user.groups.add(role, *([team] if in_team else []))
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
    upload = UploadSession.objects.create(
        owner=owner, iso=receiving, file_name="coming.iso", size_bytes=10
    )
    dom = Domain.objects.create(
        host=h, name="web1", owner=owner, team=team, memory_mb=1024, vcpus=1, volume=vol,
        vnc_display=1, vnc_password="s3cretpw",
    )  # fmt: skip
    records.add_version(dom, CONFIG, author=owner, note="Created")
    j = Job.objects.create(
        kind="domain.start", title="Start web1", target_type=TargetType.DOMAIN,
        target_key=dom.target_key, target_label=dom.name, host=h, requested_by=owner,
    )  # fmt: skip
    return World(h, team, users, dom, vol, image, upload, j)


def client_for(world: World, visitor: str) -> Client:
    client = Client()
    if visitor != ANON:
        client.force_login(world.users[visitor])
    return client


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


def test_it_sends_anonymous_visitors_to_sign_in(world: World) -> None:
    response = Client().get(reverse("domains:detail", kwargs=domain(world)))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_opens_the_admin_to_admins_only(world: World, admin_client: Client) -> None:
    for name, args in ADMIN_SAMPLES:
        url = reverse(name, args=args(world))
        assert admin_client.get(url).status_code == 200, url
        for visitor in VISITORS:
            status = client_for(world, visitor).get(url).status_code
            assert status == 302, (visitor, url, status)
    # Signed in but not an admin: the admin's sign-in page refuses instead of looping back.
    assert client_for(world, OWNER).get(reverse("admin:login")).status_code == 403


def test_it_treats_an_admin_group_member_as_an_admin(world: World, django_user_model) -> None:  # type: ignore[no-untyped-def]
    ada = django_user_model.objects.create_user("ada")
    ada.groups.add(Group.objects.get(name="admin"))
    client = Client()
    client.force_login(ada)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 200
    assert client.get(reverse("audit:list")).status_code == 200
    assert client.get(reverse("domains:detail", kwargs=domain(world))).status_code == 200
    assert ada.has_perm("hosts.change_quota") and ada.has_perm("auth.add_user")


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
