"""The page's half of the type-the-name-to-confirm step (the rule: storage.flows.TypeToConfirm)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts import access
from storage.flows import TypeToConfirm


def confirmed(
    confirm: TypeToConfirm, request: HttpRequest, code: str
) -> tuple[Any, HttpResponse | None]:
    """Return the object named by `code` and, if the typed name is wrong, the way back to it (what
    to type in a message); None to go on. 404 for whoever may not change it.

    Whether a domU still uses it is the flow's to say (storage.flows), after this.
    """
    obj: Any = access.get_owned_for_user(
        confirm.model._default_manager.select_related("host"), request.user, code, write=True
    )
    problem = confirm.unconfirmed(obj, request.POST.get("confirm", ""))
    if problem:
        messages.error(request, problem)
        return obj, redirect(obj)
    return obj, None
