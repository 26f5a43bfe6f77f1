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


API_TABLE: dict[str, ApiCase] = {
    "api:schema": ApiCase(GET, reads(200), data=lambda w: {"format": "json"}),
    # --- issue 15: accounts (tokens, me, quotas, audit) ---
    # --- issue 15: jobs ---
    # --- issue 15: hosts ---
    # --- issue 15: storage (volumes, isos, uploads) ---
    # --- issue 15: domains ---
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
