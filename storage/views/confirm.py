"""The type-the-name-to-confirm step of destroying an ISO image or a volume."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts import access


@dataclass(frozen=True)
class TypeToConfirm:
    """A destructive action that needs the object's name typed, refused while a domU uses it.

    `model` is where the object is looked up (its owner's, or an operator's, for writing);
    `asks` and `action` make the prompt ("Type the file name (x.iso) to delete the image."),
    `done` the refusal ("x.iso cannot be deleted: <why>."); `name` is the attribute to type,
    `shown` the one the refusal names; `in_use` says why the object must stay (or None).
    """

    model: type[Model]
    asks: str
    action: str
    done: str
    in_use: Callable[[Any], str | None]
    name: str
    shown: str

    def checked(self, request: HttpRequest, code: str) -> tuple[Any, HttpResponse | None]:
        """Return the object named by `code` and, if the action is refused, the way back to it
        (the reason in a message); None to go on. 404 for whoever may not change it."""
        obj = access.get_owned_for_user(
            self.model._default_manager.select_related("host"), request.user, code, write=True
        )
        return obj, self._refusal(request, obj)

    def _refusal(self, request: HttpRequest, obj: Any) -> HttpResponse | None:
        problem = self.unconfirmed(obj, request.POST.get("confirm", "")) or self.used(obj)
        if problem:
            messages.error(request, problem)
            return redirect(obj)
        return None

    # The page and the API (storage.api) refuse with the same sentences.
    def unconfirmed(self, obj: Any, typed: str) -> str | None:
        """Say what to type when `typed` is not the object's name; None when it is."""
        name = getattr(obj, self.name)
        if typed.strip() != name:
            return f"Type {self.asks} ({name}) to {self.action}."
        return None

    def used(self, obj: Any) -> str | None:
        """Say why the object must stay (a domU uses it), or None."""
        reason = self.in_use(obj)
        return f"{getattr(obj, self.shown)} cannot be {self.done}: {reason}." if reason else None
