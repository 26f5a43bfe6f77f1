"""Personal API tokens (issue 15): shown once, stored as a hash, scoped, expiring, revocable,
audited, and never worth more than their user.

The world is the permission matrix's (alice operator owns web1, shared with team lab: bob
operator, vera viewer; carol operator outside; ada admin). Requests go through the real
middleware and DRF stack; nothing is mocked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import tokens
from accounts.models import ApiToken, AuditAction, AuditEntry
from jobs.models import Job
from tests.support.roles import roles  # noqa: F401  (fixture)
from tests.test_permission_matrix import (
    ADMIN,
    OTHER,
    OWNER,
    VIEWER,
    World,
)
from tests.test_permission_matrix import world as matrix_world  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]


@pytest.fixture
def world(request: pytest.FixtureRequest) -> World:
    return request.getfixturevalue("matrix_world")


def signed_in(w: World, who: str) -> Client:
    client = Client()
    client.force_login(w.users[who])
    return client


def bearer(text: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {text}"})


def every_stored_value() -> str:
    """Every value of every row of every table the project has, as one text to search."""
    parts = []
    for model in apps.get_models():
        for row in model._default_manager.values_list():
            parts.extend(str(value) for value in row)
    return "\n".join(parts)


def create_on_page(client: Client, **data: Any) -> Any:
    form = {"name": "backup script", "scope": "read", "expires_on": "", **data}
    return client.post(reverse("tokens:list"), form)


# --- the page ------------------------------------------------------------------------------------
def test_the_page_shows_a_new_token_once_and_stores_only_its_hash(world: World) -> None:
    client = signed_in(world, OWNER)
    response = create_on_page(client, scope="write")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('tokens:list')}?token=new"
    shown = client.get(response["Location"])
    assert "no-store" in shown["Cache-Control"]
    text = shown.context["new_token"]
    assert text.startswith("xp_") and text in shown.content.decode()
    token = ApiToken.objects.get(user=world.users[OWNER], name="backup script")
    assert token.scope == ApiToken.Scope.WRITE
    assert token.digest == tokens.digest(text) and token.prefix in text

    again = client.get(response["Location"])  # a reload, or a second tab
    assert text not in again.content.decode()
    assert again.context["token_gone"]
    # Neither the token row nor the audit entry nor the session keeps the text.
    assert text not in every_stored_value()
    assert tokens.check(text) == token


def test_the_page_lists_only_ones_own_tokens(world: World) -> None:
    mine = tokens.issue(world.users[OWNER], "mine").token
    theirs = tokens.issue(world.users[OTHER], "carols").token
    page = signed_in(world, OWNER).get(reverse("tokens:list")).content.decode()
    assert mine.prefix in page and theirs.prefix not in page


def test_a_viewer_is_offered_read_tokens_only_and_told_why(world: World) -> None:
    client = signed_in(world, VIEWER)
    page = client.get(reverse("tokens:list"))
    assert 'value="write"' not in page.content.decode()
    assert "grant nothing more" in page.content.decode()
    refused = create_on_page(client, scope="write")
    assert refused.status_code == 200 and "scope" in refused.context["form"].errors
    assert not ApiToken.objects.filter(user=world.users[VIEWER]).exists()
    assert create_on_page(client).status_code == 302


def test_an_expiry_must_be_after_today(world: World) -> None:
    client = signed_in(world, OWNER)
    today = timezone.localdate().isoformat()
    assert "expires_on" in create_on_page(client, expires_on=today).context["form"].errors
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert create_on_page(client, expires_on=tomorrow).status_code == 302
    token = ApiToken.objects.get(user=world.users[OWNER])
    assert timezone.localtime(token.expires_at).date().isoformat() == tomorrow


def test_revoking_on_the_page_makes_the_token_401_and_is_audited(world: World) -> None:
    issued = tokens.issue(world.users[OWNER], "ci", scope=ApiToken.Scope.WRITE)
    assert bearer(issued.secret).get(reverse("api:me")).status_code == 200
    # Others do not know it exists.
    for who in (OTHER, VIEWER):
        url = reverse("tokens:revoke", args=[issued.token.pk])
        assert signed_in(world, who).post(url).status_code == 404
    url = reverse("tokens:revoke", args=[issued.token.pk])
    assert signed_in(world, OWNER).post(url).status_code == 302
    assert bearer(issued.secret).get(reverse("api:me")).status_code == 401
    entry = AuditEntry.objects.get(action=AuditAction.TOKEN_REVOKE)
    assert entry.actor == world.users[OWNER] and entry.details["owner"] == "alice"


def test_an_admin_sees_and_revokes_a_users_token_on_their_page(world: World) -> None:
    issued = tokens.issue(world.users[OWNER], "alice's ci")
    admin = signed_in(world, ADMIN)
    page = admin.get(reverse("users:detail", args=[world.users[OWNER].pk]))
    assert issued.token.prefix in page.content.decode()
    back = reverse("users:detail", args=[world.users[OWNER].pk])
    url = reverse("tokens:revoke", args=[issued.token.pk])
    response = admin.post(url, {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert admin.post(url, {"next": "https://evil.example/"})["Location"] == reverse("tokens:list")
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    entry = AuditEntry.objects.get(action=AuditAction.TOKEN_REVOKE)
    assert entry.actor == world.users[ADMIN] and entry.details["owner"] == "alice"


# --- the API -------------------------------------------------------------------------------------
def test_expired_revoked_and_malformed_tokens_answer_401(world: World) -> None:
    alice = world.users[OWNER]
    expired = tokens.issue(alice, "old", expires_at=timezone.now() - timedelta(seconds=1))
    revoked = tokens.issue(alice, "gone")
    tokens.revoke(revoked.token)
    live = tokens.issue(alice, "live")
    url = reverse("api:me")
    for text in (expired.secret, revoked.secret, live.secret + "x", "xp_nothing", ""):
        response = bearer(text).get(url)
        assert response.status_code == 401, text
        assert response.json()["code"] == "authentication_failed" or not text
    alice.is_active = False
    alice.save()
    assert bearer(live.secret).get(url).status_code == 401


def test_a_read_token_cannot_write(world: World) -> None:
    read = tokens.issue(world.users[OWNER], "read")
    url = reverse("api:domain-action", kwargs={"code": world.domain.code, "action": "start"})
    response = bearer(read.secret).post(url, {}, content_type="application/json")
    assert response.status_code == 403
    assert "read" in response.json()["detail"]
    # ...nor see the other tokens (their names and prefixes).
    assert bearer(read.secret).get(reverse("api:tokens")).status_code == 403


def test_a_token_never_grants_more_than_its_user(world: World) -> None:
    """Vera is a viewer: a write token of hers (made while she was an operator, say) reads only."""
    vera = tokens.issue(world.users[VIEWER], "from before", scope=ApiToken.Scope.WRITE)
    client = bearer(vera.secret)
    url = reverse("api:domain-action", kwargs={"code": world.domain.code, "action": "start"})
    assert client.post(url, {}, content_type="application/json").status_code == 403
    assert client.get(reverse("api:domain", kwargs={"code": world.domain.code})).status_code == 200
    assert Job.objects.filter(kind="domain.start").count() == 1  # the world's own, no new one
    # Carol's write token does not reach alice's domU at all; alice's does not reach the audit.
    carol = tokens.issue(world.users[OTHER], "carol", scope=ApiToken.Scope.WRITE)
    assert bearer(carol.secret).post(url, {}, content_type="application/json").status_code == 404
    alice = tokens.issue(world.users[OWNER], "alice", scope=ApiToken.Scope.WRITE)
    assert bearer(alice.secret).get(reverse("api:audit")).status_code == 403


def test_last_used_is_set(world: World) -> None:
    issued = tokens.issue(world.users[OWNER], "ci")
    assert issued.token.last_used_at is None
    before = timezone.now()
    assert bearer(issued.secret).get(reverse("api:me")).json()["token_scope"] == "read"
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None and issued.token.last_used_at >= before


def test_the_api_makes_lists_and_revokes_tokens_and_audits_without_the_text(world: World) -> None:
    maker = tokens.issue(world.users[OWNER], "maker", scope=ApiToken.Scope.WRITE)
    client = bearer(maker.secret)
    made = signed_in(world, OWNER).post(  # signed in only: a token cannot make tokens
        reverse("api:tokens"), {"name": "deploy", "scope": "read"}, content_type="application/json"
    )
    assert made.status_code == 201, made.content
    text = made.json()["token"]
    assert tokens.check(text).name == "deploy"
    listed = client.get(reverse("api:tokens")).json()
    assert {t["name"] for t in listed["results"]} == {"maker", "deploy"}
    assert all("token" not in t for t in listed["results"])
    pk = made.json()["id"]
    assert client.get(reverse("api:token", args=[pk])).json()["state"] == "active"
    assert client.delete(reverse("api:token", args=[pk])).status_code == 204
    assert bearer(text).get(reverse("api:me")).status_code == 401
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert AuditAction.TOKEN_CREATE in actions and AuditAction.TOKEN_REVOKE in actions
    assert actions.count(AuditAction.TOKEN_USE) == 1  # the DELETE; not the GETs (nor the session)
    recorded = every_stored_value()
    assert text not in recorded and maker.secret not in recorded


def test_the_api_applies_the_pages_form(world: World) -> None:
    viewer = signed_in(world, VIEWER)
    url = reverse("api:tokens")
    refused = viewer.post(url, {"name": "w", "scope": "write"}, content_type="application/json")
    assert refused.status_code == 400 and "scope" in refused.json()["fields"]
    bad = viewer.post(url, {"name": ["x"], "expires_on": "2024-02-30"}, "application/json")
    assert bad.status_code == 400 and set(bad.json()["fields"]) == {"name", "expires_on"}
    # A token cannot make tokens (they would survive its revocation): signed in only.
    soon = timezone.now() + timedelta(days=2)
    maker = tokens.issue(world.users[OWNER], "short", scope=ApiToken.Scope.WRITE, expires_at=soon)
    forever = bearer(maker.secret).post(url, {"name": "forever"}, "application/json")
    assert forever.status_code == 403
    assert forever.json()["detail"].startswith("Create tokens on the Tokens page (signed in)")
    assert not ApiToken.objects.filter(name="forever").exists()


def test_me_reports_role_teams_and_quotas(world: World) -> None:
    from accounts.models import Quota

    Quota.objects.create(user=world.users[OWNER], memory_mb=4096)
    body = signed_in(world, OWNER).get(reverse("api:me")).json()
    assert body["username"] == "alice" and body["role"] == "operator" and body["teams"] == []
    assert body["token_scope"] is None
    (row,) = body["quotas"]
    assert row["resource"] == "memory_mb" and row["limit"] == 4096
    assert row["used"] + row["left"] == 4096
    assert signed_in(world, VIEWER).get(reverse("api:me")).json()["teams"] == ["lab"]


def test_audit_filters_for_admins(world: World) -> None:
    tokens.issue(world.users[OWNER], "x")
    signed_in(world, OWNER).post(reverse("tokens:list"), {"name": "page", "scope": "read"})
    admin = signed_in(world, ADMIN)
    url = reverse("api:audit")
    got = admin.get(url, {"action": "token_create", "actor": "alice"}).json()
    assert got["count"] == 1 and got["results"][0]["target_type"] == "api_token"
    assert admin.get(url, {"search": "page ("}).json()["count"] == 1
    assert admin.get(url, {"since": "2999-01-01T00:00:00Z"}).json()["count"] == 0
    assert admin.get(url, {"action": "nonsense"}).status_code == 400
