"""Issue 15: every API route × {owner, teammate, other operator, same-team viewer, admin,
anonymous, the owner's read-only token, the owner's read+write token}.

The same world as the page matrix (tests/test_permission_matrix.py): alice (operator) owns web1,
its volume, ISO and job, shared with team "lab" (bob operator, vera viewer); carol is an operator
outside the team; ada is the admin. API answers: objects one may not see are 404, actions one
may not take 403, no credentials 401, a read token on a write 403.

Every API route needs an entry in API_TABLE (under its room's marker).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts import tokens
from accounts.models import ApiToken
from tests.support.roles import roles  # noqa: F401  (fixture)
from tests.test_permission_matrix import (
    ADMIN,
    OTHER,
    OWNER,
    TEAMMATE,
    VIEWER,
    World,
    project_urls,
    world,  # noqa: F401  (fixture)
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]

ANON, READ_TOKEN, WRITE_TOKEN = "anonymous", "read-token", "write-token"
CALLERS = (OWNER, TEAMMATE, OTHER, VIEWER, ADMIN, ANON, READ_TOKEN, WRITE_TOKEN)
GET, POST, PATCH, PUT, DELETE = "get", "post", "patch", "put", "delete"


# --- expectations (status per caller) ------------------------------------------------------------
def signed_in(code: int) -> dict[str, int]:
    return {c: code for c in CALLERS} | {ANON: 401}


def reads(code: int = 200) -> dict[str, int]:
    """A read every signed-in caller may make (tokens included)."""
    return signed_in(code)


def owned_read(code: int = 200) -> dict[str, int]:
    """Owner, team, admin and the owner's tokens see it; carol does not know it exists."""
    return {**signed_in(code), OTHER: 404}


def owned_write(code: int) -> dict[str, int]:
    """Owner, teammate, admin and the owner's write token may; the viewer and the owner's read
    token are refused (403); carol gets 404."""
    return {**signed_in(code), OTHER: 404, VIEWER: 403, READ_TOKEN: 403}


def operators(code: int) -> dict[str, int]:
    """Any operator (and admin) may, on no particular object; viewers and read tokens may not."""
    return {**signed_in(code), VIEWER: 403, READ_TOKEN: 403}


def admins_only(code: int) -> dict[str, int]:
    return {**signed_in(403), ADMIN: code}


@dataclass
class ApiCase:
    method: str
    expect: dict[str, int]
    kwargs: Callable[[Any], dict[str, Any]] = lambda w: {}
    data: Callable[[Any], dict[str, Any]] = lambda w: {}
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


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


def _snap(w: Any) -> str:
    """A ready snapshot of web1 (made on first use: the shared world has none)."""
    from domains.models import DomainSnapshot

    snap, _ = DomainSnapshot.objects.get_or_create(
        domain=w.domain, name="s1", defaults={"mode": "stopped", "state": "ready"}
    )
    return snap.name


def _template(w: Any) -> dict[str, Any]:
    """alice's template tpl1, shared with the team (no volumes: it can make no clone)."""
    from domains.models import DomainTemplate
    from tests.test_permission_matrix import CONFIG

    tpl, _ = DomainTemplate.objects.get_or_create(
        host=w.host,
        name="tpl1",
        defaults={"owner": w.domain.owner, "team": w.team, "config_text": CONFIG,
                  "memory_mb": 1024, "state": "ready"},
    )  # fmt: skip
    return {"code": tpl.code}


API_TABLE: dict[str, ApiCase] = {
    "api:schema": ApiCase(GET, reads(200), data=lambda w: {"format": "json"}),
    # --- issue 15: accounts (tokens, me, quotas, audit) ---
    "api:me": ApiCase(GET, reads(200)),
    # a read token may not list tokens (it would reveal the others' names and prefixes)
    "api:tokens": ApiCase(GET, {**signed_in(200), READ_TOKEN: 403}),
    # alice's token: she (session or write token) and admins revoke it (again: still 204)
    "api:token": ApiCase(
        DELETE,
        {**signed_in(404), OWNER: 204, ADMIN: 204, WRITE_TOKEN: 204, READ_TOKEN: 403},
        lambda w: {"pk": tokens.issue(w.users[OWNER], "matrix ci").token.pk},
    ),
    "api:audit": ApiCase(GET, admins_only(200)),
    # --- issue 15: jobs ---
    "api:jobs": ApiCase(GET, reads(200)),
    "api:job": ApiCase(GET, owned_read(), job),
    "api:job-cancel": ApiCase(
        POST,
        {**owned_write(409), TEAMMATE: 403, OWNER: 202},
        job,
        note="The page's rule: one's own job, or admins. The owner (first caller) stops the "
        "queued job; the admin and the write token then find it ended (409).",
    ),
    "api:job-events": ApiCase(GET, owned_read(), job, data=lambda w: {"max_seconds": 1}),
    # --- issue 15: hosts ---
    # POST hosts/, PATCH/DELETE hosts/<code>/: tests/api/test_hosts_api.py (one method per entry).
    "api:hosts": ApiCase(GET, reads(200)),
    "api:host": ApiCase(GET, reads(200), host),
    "api:host-refresh": ApiCase(POST, admins_only(202), host),
    "api:host-readiness": ApiCase(GET, reads(200), host),
    "api:host-readiness-check": ApiCase(POST, admins_only(202), host),
    "api:host-key-fetch": ApiCase(
        POST, admins_only(409), host, note="xen1 is simulated: no SSH host key to read"
    ),
    "api:host-key-pin": ApiCase(
        POST, admins_only(409), host, data=lambda w: {"fingerprint": "SHA256:nothing-pending"}
    ),
    # --- issue 15: storage (volumes, isos, uploads) ---
    "api:uploads": ApiCase(
        POST,
        operators(412),
        note="tus creation without Tus-Resumable: 412 for every operator after the role check "
        "(the protocol: tests/storage/test_upload_tus.py).",
    ),  # fmt: skip
    "api:upload": ApiCase(
        DELETE,
        {**owned_write(412), TEAMMATE: 404, VIEWER: 404},
        kwargs=lambda w: {"code": w.upload.code},
        note="tus termination without Tus-Resumable: 412 for those who may; an upload is its "
        "owner's (and admins'), like the page's sessions.",
    ),  # fmt: skip
    "api:volumes": ApiCase(
        POST,
        operators(400),
        data=lambda w: {"host": str(w.host.code), "name": "bad name!", "size": "1"},
        note="A name the page's form refuses: 400 for every operator (GET: tests/api/"
        "test_storage_api.py).",
    ),
    "api:volume": ApiCase(
        DELETE,
        owned_write(400),
        kwargs=volume,
        data=lambda w: {"confirm": "wrong"},
        note="The wrong name typed: 400 for whoever may destroy it (GET is owned_read(200)).",
    ),
    "api:isos": ApiCase(
        POST,
        operators(400),
        data=lambda w: {"host": str(w.host.code), "url": "not a url"},
        note="A URL the page's form refuses: 400 for every operator.",
    ),
    "api:iso": ApiCase(
        DELETE,
        owned_write(400),
        kwargs=iso,
        data=lambda w: {"confirm": "wrong"},
        note="The wrong file name typed: 400 for whoever may delete it.",
    ),
    # --- issue 15: domains ---
    "api:domain-templates": ApiCase(GET, reads(200)),
    "api:domain-template": ApiCase(GET, owned_read(200), kwargs=_template),
    "api:domain-make-template": ApiCase(
        POST,
        owned_write(400),
        kwargs=domain,
        data=lambda w: {"confirm": "not its name"},
        note="The typed confirmation is wrong: 400 for whoever may act.",
    ),
    "api:domain-template-clones": ApiCase(
        POST,
        owned_write(400),
        kwargs=_template,
        data=lambda w: {"name": "web-{n}", "count": 2},
        note="tpl1 has no volumes (the form: it can make no clone): 400 for every operator who "
        "sees it; carol does not (404).",
    ),
    "api:domain-promote": ApiCase(
        POST,
        owned_write(409),
        kwargs=domain,
        note="web1's disk is not a clone: nothing to promote (409) for whoever may act.",
    ),
    "api:domains": ApiCase(
        POST,
        operators(400),
        data=lambda w: {"name": "bad name!"},
        note="A POST with a name the form refuses: 400 for every operator (GET is reads(200)).",
    ),
    "api:domain": ApiCase(GET, owned_read(200), kwargs=domain),
    "api:domain-action": ApiCase(
        POST,
        owned_write(409),
        kwargs=lambda w: {"code": w.domain.code, "action": "shutdown"},
        note="web1 is not running: shutdown is refused in its state (409) for whoever may act.",
    ),
    "api:domain-vnc": ApiCase(GET, owned_read(200), kwargs=domain),
    "api:domain-versions": ApiCase(GET, owned_read(200), kwargs=domain),
    "api:domain-version": ApiCase(
        GET,
        owned_read(200),
        kwargs=lambda w: {"code": w.domain.code, "number": 1},
        data=lambda w: {"diff": 1},
    ),
    "api:domain-restore": ApiCase(
        POST,
        owned_write(201),
        kwargs=lambda w: {"code": w.domain.code, "number": 1},
        note="Each writer stores version 1 again as a new version (no job).",
    ),
    "api:domain-snapshots": ApiCase(GET, owned_read(200), kwargs=domain),
    "api:domain-snapshot": ApiCase(
        DELETE,
        owned_write(404),
        kwargs=lambda w: {"code": w.domain.code, "name": "nosuch"},
        note="No such snapshot: 404 once the domU may be written (viewer, read token: 403).",
    ),
    "api:domain-rollback": ApiCase(
        POST,
        owned_write(400),
        kwargs=lambda w: {"code": w.domain.code, "name": _snap(w)},
        data=lambda w: {"confirm": "not its name"},
        note="The typed confirmation is wrong: 400 for whoever may act.",
    ),
    "api:domain-migrate": ApiCase(
        POST,
        owned_write(400),
        kwargs=domain,
        data=lambda w: {"target": ""},
        note="No target: 400 for whoever may act.",
    ),
    "api:domain-migrate-checks": ApiCase(
        GET,
        {**owned_write(200), READ_TOKEN: 200},
        kwargs=domain,
        data=lambda w: {"target": str(w.local.code)},
        note="Like the migrate dialog: only those who may move it (a read token may read).",
    ),
}


def test_every_api_route_has_an_entry() -> None:
    names = {n for n in project_urls() if n.startswith("api:")}
    missing = sorted(names - set(API_TABLE))
    assert not missing, f"API routes without an entry in API_TABLE: {missing}"
    stale = sorted(set(API_TABLE) - names)
    assert not stale, f"Entries for API routes that no longer exist: {stale}"


def client_for(w: World, caller: str) -> Client:
    """A client as `caller`: a session (enforcing CSRF like a browser would not matter for the
    matrix: Django's test client skips CSRF) or the owner's token in the Authorization header."""
    if caller in (READ_TOKEN, WRITE_TOKEN):
        scope = ApiToken.Scope.READ if caller == READ_TOKEN else ApiToken.Scope.WRITE
        issued = tokens.issue(w.users[OWNER], f"matrix {caller}", scope=scope)
        return Client(headers={"Authorization": f"Bearer {issued.secret}"})
    client = Client()
    if caller != ANON:
        client.force_login(w.users[caller])
    return client


@pytest.mark.parametrize("name", sorted(API_TABLE))
def test_each_caller_gets_what_the_matrix_says(world: World, name: str) -> None:  # noqa: F811
    case = API_TABLE[name]
    url = reverse(name, kwargs=case.kwargs(world))
    got = {}
    for caller in CALLERS:
        client = client_for(world, caller)
        payload = case.data(world)
        if case.method == GET:
            response = client.get(url, payload)
        else:
            response = getattr(client, case.method)(url, payload, content_type="application/json")
        got[caller] = response.status_code
        if response.status_code in (401, 403, 404):
            body = response.json()
            assert set(body) >= {"detail", "code"}, (caller, body)
    assert got == case.expect, f"{name}: {got}"
