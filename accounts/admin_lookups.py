"""Admin change lists: a filter value no database integer holds is a bad lookup, not a 500."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect


class BoundedLookupsMixin:
    """Answer `?host=-10**400` (any integer or foreign-key filter) with the admin's "?e=1" page.

    The admin lets a list be filtered on any local field; a number no 64-bit column holds reaches
    the query and fails there (SQLite: OverflowError) instead of being refused as a bad lookup.
    """

    model: type[Any]  # ModelAdmin's, whose type names the model; type[Model] would clash

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        for key, value in request.GET.items():
            # A key given without a value reads as [] (MultiValueDict); no number to check.
            if not isinstance(value, str):
                continue
            if _integer_field(self.model, key.split("__")[0]) and not fits_int64(value):
                return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        return super().changelist_view(request, extra_context)  # type: ignore[misc]


def _integer_field(model: type[models.Model], name: str) -> bool:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    target = getattr(field, "target_field", field)
    return isinstance(target, models.IntegerField | models.AutoField)


def fits_int64(value: str) -> bool:
    """Say whether every comma-separated part of `value` that is a number fits 64 bits."""
    for part in value.split(","):
        text = part.strip()
        if text.lstrip("-").isdigit() and not -(2**63) <= int(text) < 2**63:
            return False
    return True
