"""Personal API tokens: make one (shown once), find and check one, revoke one.

Format `xp_<prefix>_<secret>`: the prefix (public, 8 characters) finds the row; the SHA-256
digest of the whole token proves it, compared in constant time. Only the digest is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import ApiToken

PREFIX = "xp_"
#: `last_used_at` is written at most this often per token (every request would be a write).
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret: str  # the whole token text: shown once, never stored


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def issue(
    user: Any, name: str, *, scope: str = ApiToken.Scope.READ, expires_at: datetime | None = None
) -> Issued:
    """Create a token for `user`; the returned `secret` is the only copy of its text."""
    while True:
        prefix = secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    text = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name, prefix=prefix, digest=digest(text), scope=scope,
        expires_at=expires_at,
    )  # fmt: skip
    return Issued(token, text)


def parse(text: str) -> str | None:
    """Return the prefix of a well-formed token text, else None."""
    if not text.startswith(PREFIX):
        return None
    prefix, sep, secret = text[len(PREFIX) :].partition("_")
    if not sep or len(prefix) != 8 or not secret:
        return None
    return prefix


def check(text: str) -> ApiToken | None:
    """The live token this text proves (not revoked, not expired, user active), else None."""
    prefix = parse(text)
    if prefix is None:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.digest, digest(text)):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return None
    return token


def touch(token: ApiToken) -> None:
    """Record that the token was used now (at most once a minute)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def revoke(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
