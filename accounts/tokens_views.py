"""The API tokens page: every signed-in user makes, lists and revokes their own personal tokens.

A new token's text is shown once: the POST that made it keeps the text in the session and
redirects (POST/redirect/GET, so a reload makes no second token); the GET that shows it takes it
out of the session again. Only a digest is stored (`accounts.tokens`), so nothing can show it
later. Pages that can show one are never cached. Admins revoke anyone's token (from the user's
page on Users & teams, which posts here with `next`); everyone else only sees their own.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import tokens
from accounts.http import PanelRequest
from accounts.models import ApiToken

#: The session key holding a new token's text until the one GET that shows it.
SHOWN_KEY = "tokens.new_token"


def _no_store(response: HttpResponse) -> HttpResponse:
    # Said again after never_cache in case something rewrites Cache-Control: a page with a
    # token's text must not land in any cache.
    response["Cache-Control"] = "max-age=0, no-cache, no-store, must-revalidate, private"
    return response


def _take_shown(request: HttpRequest) -> dict[str, Any]:
    """The new token for this page, taken out of the session; or that it was shown already."""
    kept = request.session.pop(SHOWN_KEY, None)
    if isinstance(kept, dict) and kept.get("user") == request.user.pk:
        return {"new_token": kept["text"], "new_token_name": kept["name"]}
    return {"token_gone": True}


@never_cache
def token_list(request: PanelRequest) -> HttpResponse:
    user = request.user
    form = tokens.TokenForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        issued = tokens.create(request, user, form)
        request.session[SHOWN_KEY] = {
            "user": user.pk, "text": issued.secret, "name": issued.token.name,
        }  # fmt: skip
        return redirect(f"{reverse('tokens:list')}?token=new")
    extra = _take_shown(request) if request.GET.get("token") == "new" else {}
    rows = ApiToken.objects.filter(user=user).order_by("-created_at")
    context = {
        "form": form,
        "rows": [(token, tokens.state(token)) for token in rows],
        "may_write": tokens.may_write(user),
        "viewer_note": tokens.VIEWER_SCOPE_NOTE,
        **extra,
    }
    return _no_store(render(request, "accounts/tokens.html", context))


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = tokens.get_visible(request.user, pk)  # 404 for anyone else's (admins: any)
    owner = token.user.get_username()
    whose = "" if token.user_id == request.user.pk else f" of {owner}"
    if tokens.revoke_audited(request, token):
        messages.success(
            request,
            f"Revoked the API token “{token.name}” ({token.prefix}…){whose}: requests with it "
            "now answer 401. Scripts that used it need a new token.",
        )
    else:
        messages.info(request, f"The API token “{token.name}”{whose} was revoked already.")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}):
        return redirect(back)
    return redirect("tokens:list")
