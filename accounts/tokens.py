"""Personal API tokens: make one (shown once), find and check one, revoke one; and the rules the
Tokens page and the API share (the form, who sees which tokens, the audit entries).

Format `xp_<prefix>_<secret>`: the prefix (public, 8 characters) finds the row; the SHA-256
digest of the whole token proves it, compared in constant time. Only the digest is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts import audit
from accounts.models import ApiToken, AuditAction

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


# --- the rules the Tokens page and the API share ------------------------------------------------
#: What a viewer is told about scopes (a viewer's token can never write, whatever its scope).
VIEWER_SCOPE_NOTE = (
    "Your role is viewer: the panel lets you read, so a token of yours can only read too. "
    "A read+write token would grant nothing more; ask an admin for the operator role to write."
)
EXPIRY_PAST = "Choose a day after today: a token that has already expired could not be used."
#: How far ahead an expiry may be: further than this is "never" in practice (leave it empty).
MAX_DAYS = 3660
EXPIRY_FAR = (
    "Choose a day within ten years, or leave the field empty for a token that never expires."
)
OUTLIVES = "A token made with a token cannot outlive it: choose an expiry on or before {day}."


def may_write(user: Any) -> bool:
    """Whether a token of `user` could ever write (admins and operators; never viewers)."""
    from accounts import access

    return access.can_operate(user)


class TokenForm(forms.Form):
    """What the Tokens page and `POST /api/v1/tokens/` accept: a name, a scope, an expiry day."""

    name = forms.CharField(
        max_length=64,
        strip=True,
        help_text="What the token is for, e.g. “backup script on build1” (64 characters at most).",
    )
    scope = forms.ChoiceField(
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        help_text="Read: GET requests only. Read and write: everything your role allows.",
    )
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The token stops working at the end of this day (panel time zone).",
    )

    def __init__(self, *args: Any, user: Any, limit: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.limit = limit  # the expiry of the token making this one (API), if it has one
        if not may_write(user):
            scope = self.fields["scope"]
            assert isinstance(scope, forms.ChoiceField)  # declared so above; `fields` says Field
            scope.choices = [(ApiToken.Scope.READ, ApiToken.Scope.READ.label)]
            scope.help_text = VIEWER_SCOPE_NOTE

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].replace("\x00", "")
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name

    def clean_scope(self) -> str:
        scope = self.cleaned_data["scope"]
        if scope == ApiToken.Scope.WRITE and not may_write(self.user):
            raise forms.ValidationError(VIEWER_SCOPE_NOTE)
        return scope

    def clean_expires_on(self) -> date | None:
        day = self.cleaned_data.get("expires_on")
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError(EXPIRY_PAST)
        if day is not None and (day - timezone.localdate()).days > MAX_DAYS:
            raise forms.ValidationError(EXPIRY_FAR)
        return day

    def expires_at(self) -> datetime | None:
        """The end of the chosen day, in the panel's time zone (None: never expires)."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day, time.max))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.limit is not None and "expires_on" in data and not self.errors:
            expires = self.expires_at()
            if expires is None or expires > self.limit:
                day = timezone.localtime(self.limit).date().isoformat()
                self.add_error("expires_on", OUTLIVES.format(day=day))
        return data


def create(request: HttpRequest, user: Any, form: TokenForm) -> Issued:
    """Issue the token the (valid) form describes, for `user`, and audit it (never its text)."""
    issued = issue(
        user, form.cleaned_data["name"], scope=form.cleaned_data["scope"],
        expires_at=form.expires_at(),
    )  # fmt: skip
    token = issued.token
    audit.record(
        AuditAction.TOKEN_CREATE,
        request=request,
        actor=_actor(request, user),
        target_type="api_token",
        target_label=str(token),
        details={"owner": user.get_username(), "scope": token.scope, "expires": _day(token)},
    )
    return issued


def revoke_audited(request: HttpRequest, token: ApiToken) -> bool:
    """Revoke `token` and audit it; False (and no entry) if it was revoked already."""
    if token.revoked_at is not None:
        return False
    revoke(token)
    audit.record(
        AuditAction.TOKEN_REVOKE,
        request=request,
        actor=_actor(request, token.user),
        target_type="api_token",
        target_label=str(token),
        details={"owner": token.user.get_username(), "scope": token.scope},
    )
    return True


def visible(user: Any) -> QuerySet[ApiToken]:
    """The tokens `user` may list: their own; every token for admins."""
    from accounts import access

    qs = ApiToken.objects.select_related("user")
    return qs if access.is_admin(user) else qs.filter(user=user)


def get_visible(user: Any, pk: int) -> ApiToken:
    """One token `user` may see and revoke (their own; any for admins), else 404."""
    token = visible(user).filter(pk=pk).first() if 0 < pk < 2**63 else None
    if token is None:
        raise Http404("No such API token.")
    return token


def state(token: ApiToken) -> str:
    """active, expired or revoked: what the lists show."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return "expired"
    return "active"


def _day(token: ApiToken) -> str:
    return timezone.localtime(token.expires_at).date().isoformat() if token.expires_at else "never"


def _actor(request: HttpRequest, default: Any) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else default
