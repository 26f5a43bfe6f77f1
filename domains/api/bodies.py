"""Request bodies: bound to the pages' Django forms, described to the schema from those forms.

`form_body` makes a serializer from a form's fields (for the schema only: the form validates),
so the documentation lists exactly what the page's form takes. `bind` merges the JSON over the
values the page would show (its initial data), so a client sends only what it changes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from rest_framework import exceptions, serializers

from domains.flows import Refused


class Conflict(exceptions.APIException):
    """409: the action does not fit the object's state now (the page's message says why)."""

    status_code = 409
    default_detail = "Not possible in the current state."
    default_code = "conflict"


def conflict(exc: Refused) -> Conflict:
    return Conflict(str(exc))


def invalid(form: forms.Form) -> exceptions.ValidationError:
    """400 with `fields`: the form's errors by field (`__all__` for the form as a whole)."""
    return exceptions.ValidationError(
        {name: [str(m) for m in errors] for name, errors in form.errors.items()}
    )


def shown_values(form: forms.Form) -> dict[str, Any]:
    """What the page would show in each field of an unbound form (its initial values)."""
    values: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if value is not None:
            values[name] = value
    return values


def body(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"__all__": ["Send a JSON object."]})
    return dict(data)


def _field(field: forms.Field, required: bool = False) -> serializers.Field:
    text = " ".join(str(t) for t in (field.label or "", field.help_text or "") if t)
    kwargs: dict[str, Any] = {"required": required, "help_text": text or "See the page's form."}
    if isinstance(field, forms.BooleanField):
        return serializers.BooleanField(**kwargs)
    if isinstance(field, forms.IntegerField):
        return serializers.IntegerField(allow_null=True, **kwargs)
    if isinstance(field, forms.ModelChoiceField):
        kwargs["help_text"] += " (a code)"
        return serializers.CharField(allow_blank=True, allow_null=True, **kwargs)
    if isinstance(field, forms.MultipleChoiceField):
        return serializers.ListField(child=serializers.CharField(), **kwargs)
    if isinstance(field, forms.ChoiceField) and field.choices:
        choices = [c for c, _ in list(field.choices) if c != ""]  # type: ignore[arg-type]
        if choices:
            return serializers.ChoiceField(choices=choices, allow_blank=True, **kwargs)
    return serializers.CharField(allow_blank=True, **kwargs)


def form_body(
    form_class: type[forms.Form],
    name: str,
    *,
    extra: dict[str, serializers.Field] | None = None,
    required: tuple[str, ...] = (),
) -> type[serializers.Serializer]:
    """A serializer describing `form_class`'s fields (plus `extra`) as a JSON request body."""
    fields: dict[str, serializers.Field] = {}
    for key, field in form_class.base_fields.items():
        # `required` goes to the constructor: a serializer deep-copies its declared fields
        # from their constructor arguments, so an attribute set afterwards is lost.
        fields[key] = _field(field, required=key in required)
    fields.update(extra or {})
    return type(name, (serializers.Serializer,), fields)
