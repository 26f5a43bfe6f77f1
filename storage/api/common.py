"""What the storage API modules share: form input from JSON, refusals, small representations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Model
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, filters, serializers, status
from rest_framework.request import Request

from accounts.api import ApiErrorSerializer  # the one error shape in the schema


class Conflict(exceptions.APIException):
    """409: the object is in a state (or in use) that refuses the action; `detail` says why."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object's state refuses this action."
    default_code = "conflict"


class Search(filters.SearchFilter):
    """`?search=`: NUL cannot be in a PostgreSQL text value (it would be a server error)."""

    def get_search_terms(self, request: Request) -> list[str]:
        return [t.replace("\x00", "") for t in super().get_search_terms(request) if t.strip("\x00")]


def body(request: Request) -> dict[str, Any]:
    """The request's JSON object (or form data) as a plain dict for a Django form; 400 if the
    body is not an object (a list, a string)."""
    data = request.data
    if not hasattr(data, "keys"):
        raise exceptions.ValidationError({"__all__": ["The body must be a JSON object."]})
    return {key: data[key] for key in data.keys()}


def refuse(form: forms.Form) -> exceptions.ValidationError:
    """The form's errors as the API's 400 (`fields`: {name: [messages]}, `__all__` for the form)."""
    return exceptions.ValidationError(
        {name: [str(e) for e in errors] for name, errors in form.errors.items()}
    )


def by_code_and_name(form: forms.Form) -> None:
    """Let a form's `host` and `team` choices be named as the API names them: a host by its
    code, a team by its name (the page's select sends primary keys)."""
    for name, key in (("host", "code"), ("team", "name")):
        field = form.fields.get(name)
        if isinstance(field, forms.ModelChoiceField):
            field.to_field_name = key


class HostRef(serializers.Serializer):
    code = serializers.UUIDField(help_text="The host's code (its id in the API and the pages).")
    name = serializers.CharField(help_text="The host's name.")


class UserRefs(serializers.Serializer):
    """owner and team, as the pages show them."""

    owner = serializers.SerializerMethodField(help_text="User name of the owner (null: none).")
    team = serializers.SerializerMethodField(
        help_text="Team (group) whose members may see and use it too (null: none)."
    )

    def get_owner(self, obj: Any) -> str | None:
        return obj.owner.username if obj.owner_id else None

    def get_team(self, obj: Any) -> str | None:
        return obj.team.name if obj.team_id else None


def users_of(obj: Model) -> list[dict[str, Any]]:
    """The objects of other rooms that name `obj` (a domU using a volume as a disk, a template
    made of it), found through the relations they declared on it: storage imports no higher room.
    """
    found: list[dict[str, Any]] = []
    for rel in obj._meta.related_objects:
        model = rel.related_model
        if isinstance(model, str):  # "self" is resolved to the class once the apps are loaded
            raise TypeError(f"The relation {rel} of {type(obj).__name__} is not resolved.")
        many = rel.one_to_many or rel.many_to_many
        if not many or model._meta.app_label == obj._meta.app_label:
            continue
        names = {f.name for f in model._meta.get_fields()}
        accessor = rel.get_accessor_name()  # None only for a symmetrical relation to itself
        if not {"code", "name"} <= names or accessor is None:
            continue
        for other in getattr(obj, accessor).all().only("code", "name"):
            kind = str(model._meta.verbose_name)
            found.append({"kind": kind, "code": other.code, "name": other.name})
    return found


class UserOf(serializers.Serializer):
    kind = serializers.CharField(help_text='What names it ("domain", "domain template").')
    code = serializers.UUIDField(help_text="Its code.")
    name = serializers.CharField(help_text="Its name.")


_WHY = {
    400: "Invalid input: `fields` says which and why.",
    403: "Your role (or the token's scope) is read-only.",
    404: "No such object, or you may not see it.",
    409: "The object's state refuses the action: `detail` says why.",
}


def errors(*codes: int, **why: str) -> dict[int, OpenApiResponse]:
    """Documented error answers, e.g. `errors(400, 403, e409="A domU uses it.")`."""
    texts = {**_WHY, **{int(k[1:]): v for k, v in why.items()}}
    return {c: OpenApiResponse(ApiErrorSerializer, description=texts[c]) for c in codes}
