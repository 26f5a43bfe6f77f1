"""Two admins demoting each other at the same moment still leave one admin.

The last-admin check and the save run in one transaction after `forms.lock_active_admins()`, so
the second save waits for the first and then sees it. The first request is held open, by a
signal receiver, right after it took the other admin's role (inside its transaction); the second
request is sent meanwhile. Both are real requests to the view on real connections (a thread
each), on SQLite and, with --db=postgres (these tests are marked `pg`), on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models.signals import m2m_changed
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from accounts.forms import active_admins
from tests.support.roles import ensure_roles

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()
HOLD_SECONDS = 1.5


def test_two_admins_demoting_each_other_at_once_leave_one_admin(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ensure_roles()
    admin_group = Group.objects.get(name="admin")
    ada = User.objects.create_user("ada", password="Quiet-Harbor-58")
    bea = User.objects.create_user("bea", password="Quiet-Harbor-58")
    admin_group.user_set.add(ada, bea)
    as_ada, as_bea = Client(), Client()
    as_ada.force_login(ada)
    as_bea.force_login(bea)
    demote = {"role": "operator", "is_active": "on"}
    inside = threading.Event()
    answers: dict[str, HttpResponse] = {}

    def hold(action: str, pk_set: set[int] | None, **kwargs: Any) -> None:
        # Only in ada's request, once bea's admin role is gone: its transaction stays open.
        if threading.current_thread() is first and action == "post_remove":
            if pk_set and admin_group.pk in pk_set:
                inside.set()
                time.sleep(HOLD_SECONDS)

    def ada_demotes_bea() -> None:
        try:
            url = reverse("users:detail", args=[bea.pk])
            answers["ada"] = as_ada.post(url, {"username": "bea", **demote})
        finally:
            connection.close()  # this thread's own connection

    first = threading.Thread(target=ada_demotes_bea)
    m2m_changed.connect(hold, sender=User.groups.through, dispatch_uid="test-last-admin-race")
    try:
        first.start()
        assert inside.wait(30), "ada's request never reached the save"
        # bea is still admin for anything that reads outside ada's transaction.
        started = time.monotonic()
        answers["bea"] = as_bea.post(
            reverse("users:detail", args=[ada.pk]), {"username": "ada", **demote}
        )
        waited = time.monotonic() - started
        first.join(30)
    finally:
        m2m_changed.disconnect(sender=User.groups.through, dispatch_uid="test-last-admin-race")
    assert not first.is_alive()
    assert answers["ada"].status_code == 302  # bea demoted: ada is still admin
    refused = answers["bea"]
    assert refused.status_code == 200 and "ada is the last active admin" in refused.content.decode()
    assert list(active_admins().values_list("username", flat=True)) == ["ada"]
    # The refusal came after waiting for ada's transaction, not from a check made before it.
    assert waited >= HOLD_SECONDS / 3, waited
