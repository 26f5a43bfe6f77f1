"""Shared steps of the edit tests: the edit form's data as the page shows it, and a save."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.urls import reverse

from domains import records
from domains.editing.forms import EditForm
from domains.models import Domain
from jobs.models import Job
from tests.support.jobs import wait_for_job


def edit_data(domain: Domain, user: Any, **overrides: Any) -> dict[str, Any]:
    """The edit form's fields as the page fills them in, with `overrides` (None drops one)."""
    form = EditForm(domain=domain, user=user)
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False or value == []:
            continue
        data[name] = "on" if value is True else value
    version = records.current_version(domain)
    data["base"] = version.number if version else 0
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def save_edit(client: Any, domain: Domain, user: Any, **overrides: Any) -> Any:
    """POST the edit form; return the response (302 when saved)."""
    return client.post(
        reverse("domains:edit", args=[domain.code]), edit_data(domain, user, **overrides)
    )


def last_job(domain: Domain, kind: str) -> Job:
    return wait_for_job(Job.objects.on(domain).filter(kind=kind).latest("created_at"), timeout=30)


def operator(django_user_model: Any, name: str = "opal") -> Any:
    user = django_user_model.objects.create_user(name, f"{name}@example.com", "pw-123-abc")
    user.groups.add(Group.objects.get_or_create(name="operator")[0])
    return user
