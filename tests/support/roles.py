"""The role groups and their permissions, as the migration makes them.

A transactional test (worker, browser) flushes the database afterwards, which takes the rows a
data migration made with it; tests that need the roles ask for them through this fixture.
"""

from __future__ import annotations

import importlib

import pytest


def ensure_roles() -> None:
    from django.apps import apps

    migration = importlib.import_module("hosts.migrations.0006_role_permissions")
    migration.attach(apps, None)


@pytest.fixture
def roles(db: None) -> None:
    ensure_roles()
