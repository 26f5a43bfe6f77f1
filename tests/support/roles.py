"""The role groups and their permissions, as `accounts.roles` makes them after every migrate.

A transactional test (worker, browser) flushes the database afterwards; the flush's post_migrate
makes the groups again, but tests that need them say so through this fixture.
"""

from __future__ import annotations

import pytest


def ensure_roles() -> None:
    from accounts.roles import sync_role_permissions

    sync_role_permissions()


@pytest.fixture
def roles(db: None) -> None:
    ensure_roles()
