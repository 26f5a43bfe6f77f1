"""The sign-in: lockout after repeated failures (real login POSTs through django-axes), session
expiry, the password change page, security headers, and `check --deploy` for production."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-42"


@pytest.fixture
def olga(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("olga", password=PASSWORD)


def sign_in(client: Client, username: str, password: str) -> object:
    return client.post(reverse("login"), {"username": username, "password": password})


def test_it_locks_a_name_out_after_the_failure_limit(olga, settings) -> None:  # type: ignore[no-untyped-def]
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        response = sign_in(client, "olga", "wrong")
        assert response.status_code == 200
        assert "didn't match" in response.content.decode()
    response = sign_in(client, "olga", "wrong")  # the third failure locks
    assert response.status_code == 429
    # Now even the right password is refused, and no session is made.
    response = sign_in(client, "olga", PASSWORD)
    assert response.status_code == 429
    assert 'data-testid="locked-out"' in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302
    failed = AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, actor_name="olga")
    assert failed.count() >= 3
    assert set(failed.values_list("address", flat=True)) == {"127.0.0.1"}
    assert AuditEntry.objects.filter(action=AuditAction.LOCKED_OUT, actor_name="olga").exists()


def test_a_lockout_for_a_name_no_account_has_records_it_hidden(olga, settings) -> None:  # type: ignore[no-untyped-def]
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    typed = "correct-horse-42-typed-in-the-wrong-box"  # a password typed into the name field
    for _ in range(2):
        sign_in(client, typed, "whatever")
    assert sign_in(client, typed, "whatever").status_code == 429
    hidden = f"(no such user, {len(typed)} characters)"
    locked = AuditEntry.objects.filter(action=AuditAction.LOCKED_OUT)
    assert locked.exists()
    assert set(locked.values_list("actor_name", "target_label")) == {(hidden, hidden)}
    # The lockout hides it exactly as the failed sign-in does, and nothing keeps the raw name.
    failed = AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED)
    assert set(failed.values_list("actor_name", flat=True)) == {hidden}
    for entry in AuditEntry.objects.all():
        assert typed not in f"{entry.actor_name} {entry.target_label} {entry.details}"


def test_a_lockout_for_a_real_account_records_the_account(olga, settings) -> None:  # type: ignore[no-untyped-def]
    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    for _ in range(2):
        sign_in(client, "olga", "wrong")
    assert sign_in(client, "olga", PASSWORD).status_code == 429
    locked = AuditEntry.objects.filter(action=AuditAction.LOCKED_OUT)
    assert locked.exists()
    assert set(locked.values_list("actor_name", "target_label")) == {("olga", "olga")}


def test_it_locks_the_name_from_that_address_only(olga, settings, django_user_model) -> None:  # type: ignore[no-untyped-def]
    settings.AXES_FAILURE_LIMIT = 2
    django_user_model.objects.create_user("pavel", password=PASSWORD)
    attacker = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(2):
        sign_in(attacker, "olga", "guess")
    assert sign_in(attacker, "olga", PASSWORD).status_code == 429
    # olga, from her own address, is not locked out by someone guessing elsewhere...
    assert sign_in(Client(), "olga", PASSWORD).status_code == 302
    # ...and the attacker's address may still sign in as someone else.
    assert sign_in(attacker, "pavel", PASSWORD).status_code == 302


def test_it_lifts_the_lock_when_an_admin_resets_it(olga, settings) -> None:  # type: ignore[no-untyped-def]
    from axes.utils import reset

    settings.AXES_FAILURE_LIMIT = 2
    client = Client()
    for _ in range(2):
        sign_in(client, "olga", "wrong")
    assert sign_in(client, "olga", PASSWORD).status_code == 429
    reset(username="olga")
    assert sign_in(client, "olga", PASSWORD).status_code == 302


def test_it_ends_the_session_when_the_browser_closes(olga) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    assert sign_in(client, "olga", PASSWORD).status_code == 302
    cookie = client.cookies["sessionid"]
    assert not cookie["max-age"] and not cookie["expires"]  # a browser-session cookie
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_it_changes_the_password_and_keeps_the_user_signed_in(olga) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in(client, "olga", PASSWORD)
    url = reverse("password_change")
    page = client.get(url).content.decode()
    assert "Change your password" in page
    response = client.post(
        url, {"old_password": "nope", "new_password1": "x", "new_password2": "x"}
    )
    assert response.status_code == 200 and "is-invalid" in response.content.decode()
    new = "another-Horse-77"
    response = client.post(
        url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    assert client.get(reverse("dashboard")).status_code == 200
    olga.refresh_from_db()
    assert olga.check_password(new)
    entry = AuditEntry.objects.get(action=AuditAction.PASSWORD_CHANGE)
    assert entry.actor_name == "olga" and entry.address == "127.0.0.1"
    assert new not in str(entry.details) and PASSWORD not in str(entry.details)


def test_it_sends_security_headers(admin_client) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.get(reverse("dashboard"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "ws://testserver:6080" in csp  # the console's WebSocket (demo proxy port)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert '"allowEval": false' in response.content.decode()


def test_it_keeps_every_script_in_a_static_file() -> None:
    """The CSP forbids inline script; a template with one would break in production only."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag:
                offenders.append(f"{path.relative_to(ROOT)}: {tag}")
        if re.search(r"\shx-on[:-]|\son[a-z]+=\"|javascript:|\"js:", text):
            offenders.append(f"{path.relative_to(ROOT)}: inline handler")
    assert not offenders


def test_it_passes_the_deployment_checks_for_a_production_configuration(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XENPANEL_", "DJANGO_"))}
    env.update(
        XENPANEL_DEBUG="false",
        XENPANEL_HTTPS="true",
        XENPANEL_HSTS_SECONDS="31536000",
        XENPANEL_SECRET_KEY="k" * 10 + "Zq8#pL2@vN5!rT7$wY4%uI6^oP1&aS3*dF9(gH0)jK" + "x" * 10,
        XENPANEL_ALLOWED_HOSTS="panel.example.org",
        XENPANEL_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="xenpanel.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
