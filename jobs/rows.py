"""Write the fields a job owns on a row, and keep the object the job holds in step."""

from __future__ import annotations

from typing import Any

from django.db.models import Model


def save_fields(obj: Model, **values: Any) -> None:
    """Write `values` to `obj`'s row with one UPDATE and set them on `obj`.

    Only these columns are written: a job's `save()` would write back the stale values of fields
    a page changed while the job ran (a description, an owner).
    """
    type(obj)._default_manager.filter(pk=obj.pk).update(**values)
    for key, value in values.items():
        setattr(obj, key, value)
