"""A live API for tests that talk HTTP to it: the live server, a real worker, a small world and
write tokens for an admin and an operator.

The world is real, not rows made by hand: a simulated host refreshed by a job, an operator's
domU created through the new-domU form (its create job run by the worker), its volume, an ISO
image on the host and an upload waiting for its bytes. Other API tests (the CLI, tus) may reuse
`api_world` and `live_api`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts import tokens
from accounts.models import ApiToken
from accounts.roles import ADMIN_GROUP, OPERATOR_GROUP
from domains.models import Domain
from hosts.models import Host
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job
from storage import uploads
from storage.models import IsoImage, UploadSession, Volume
from tests.domains.support import create_via_form, put_iso, refreshed_host
from tests.support.roles import roles  # noqa: F401  (fixture)

ADMIN, OPERATOR = "admin", "operator"
PASSWORD = "Api-world-pw-1"


@dataclass
class ApiWorld:
    host: Host
    users: dict[str, Any]  # role -> user
    domain: Domain  # the operator's, created through the form
    volume: Volume  # its disk
    iso: IsoImage  # the operator's, READY on the host
    upload: UploadSession  # the operator's, waiting for bytes
    job: Job  # the domU's create job (succeeded)
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token text (read+write)
    # role -> the pk of a second token of theirs: what token routes are aimed at (revoking the
    # token a test calls with would turn every later answer into a 401)
    spare_token_ids: dict[str, int] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def _wait_for_quiet(timeout: float = 60.0) -> None:
    """Wait until the worker has no job left (the flush after the test must not pull rows from
    under a running job); what is still queued at the deadline is cancelled."""
    deadline = time.monotonic() + timeout
    while Job.objects.filter(status__in=ACTIVE_JOB_STATUSES).exists():
        if time.monotonic() > deadline:
            Job.objects.filter(status__in=ACTIVE_JOB_STATUSES).update(cancel_requested=True)
            return
        time.sleep(0.1)


@pytest.fixture
def api_world(
    worker: object,
    roles: None,  # noqa: F811
    tmp_path,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
    django_user_model,  # type: ignore[no-untyped-def]
) -> Iterator[ApiWorld]:
    settings.UPLOAD_DIR = tmp_path / "uploads"
    # The hasher is not under test here; the default one would cost seconds per password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = {}
    for role, name, group in [(ADMIN, "ada", ADMIN_GROUP), (OPERATOR, "oscar", OPERATOR_GROUP)]:
        user = django_user_model.objects.create_user(name, password=PASSWORD)
        user.groups.add(Group.objects.get(name=group))
        users[role] = user
    operator = users[OPERATOR]
    host = refreshed_host("xen1", tmp_path)
    browser = Client()
    browser.force_login(operator)
    domain, job = create_via_form(browser, host, "web1")
    assert job.status == "succeeded", job.error
    domain.refresh_from_db()
    iso = put_iso(host)
    IsoImage.objects.filter(pk=iso.pk).update(owner=operator)
    iso.refresh_from_db()
    receiving = IsoImage.objects.create(
        host=host, file_name="coming.iso", source=IsoImage.Source.UPLOAD,
        state=IsoImage.State.UPLOADING, owner=operator,
    )  # fmt: skip
    upload = uploads.create_session(receiving, 4096, operator)
    world = ApiWorld(
        host=host, users=users, domain=domain, volume=domain.volume, iso=iso, upload=upload,
        job=job,
    )  # fmt: skip
    for role, user in users.items():
        issued = tokens.issue(user, f"api tests {role}", scope=ApiToken.Scope.WRITE)
        world.tokens[role] = issued.secret
        spare = tokens.issue(user, f"api tests {role} spare", scope=ApiToken.Scope.READ)
        world.spare_token_ids[role] = spare.token.pk
    yield world
    _wait_for_quiet()


@pytest.fixture
def live_api(live_server, api_world: ApiWorld) -> str:  # type: ignore[no-untyped-def]
    """The live server's base URL, with the world in its database."""
    return str(live_server.url)
