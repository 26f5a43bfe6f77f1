"""The plan's rows for the migration key and VNC exposure, and the set-up form's empty selection
(issue 14 review, items 3 and 7): database only, no host runs."""

from __future__ import annotations

import pytest
from django.db import transaction

from hosts.migration_access import queue_from_post
from jobs.choices import JobStatus
from jobs.models import Job, JobTarget
from tests.domains.test_migration_checks import by_key, make_domain, make_host

pytestmark = pytest.mark.django_db
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA x"


def trusted(source, *targets, public: str = KEY) -> None:  # type: ignore[no-untyped-def]
    """A succeeded set-up job, as hosts.migration_access records one."""
    type(source).objects.filter(pk=source.pk).update(migration_public_key=public)
    source.refresh_from_db()
    job = Job.objects.create(
        kind="host.migration_access", title="set-up", status=JobStatus.SUCCEEDED,
        result={"trusted": [t.name for t in targets], "public_key": public},
    )  # fmt: skip
    JobTarget.objects.create(job=job, role="host", obj=source, label=source.name)


def test_direct_path_needs_the_target_to_accept_the_key():
    from domains.migration import checks

    a = make_host("xen-a", migration_transfer="direct")
    b, c = make_host("xen-b"), make_host("xen-c")
    domain = make_domain(a)
    row = by_key(checks.plan(domain, b))["migration_key"]
    assert row.status == "fail" and row.label == "xen-b accepts xen-a's migration key"
    assert row.message.startswith("Set up migration access on xen-a's page")
    trusted(a, b)
    domain.refresh_from_db()
    assert by_key(checks.plan(domain, b))["migration_key"].status == "pass"
    row = by_key(checks.plan(domain, c))["migration_key"]
    assert row.status == "fail" and "xen-c does not accept xen-a's migration key" in row.message


def test_relay_path_has_no_key_row_and_simulated_live_is_trusted_by_name():
    from domains.migration import checks

    a, b = make_host("xen-a", shared_storage="san1"), make_host("xen-b")
    domain = make_domain(a)
    assert "migration_key" not in by_key(checks.plan(domain, b))
    b2 = make_host("xen-b2", shared_storage="san1")
    row = by_key(checks.plan(domain, b2))["migration_key"]
    assert row.status == "pass" and "trusted by name" in row.message


def test_live_to_a_real_host_needs_the_key():
    from domains.migration import checks

    a = make_host("xen-a", shared_storage="san1")
    b = make_host("xen-b", shared_storage="san1")
    type(b).objects.filter(pk=b.pk).update(transport="ssh", address="10.0.0.2")
    b.refresh_from_db()
    domain = make_domain(a)
    assert by_key(checks.plan(domain, b))["migration_key"].status == "fail"
    trusted(a, b)
    domain.refresh_from_db()
    assert by_key(checks.plan(domain, b))["migration_key"].status == "pass"


def test_an_exposed_console_cannot_move_to_a_host_that_forbids_it():
    from domains.migration import checks

    a = make_host("xen-a", vnc_exposure_allowed=True)
    b = make_host("xen-b")  # vnc_exposure_allowed defaults to False
    exposed = make_domain(a, vnc_listen="0.0.0.0")  # noqa: S104 - the case under test
    row = by_key(checks.plan(exposed, b))["vnc_exposure"]
    assert row.status == "fail" and "127.0.0.1" in row.message and "xen-b" in row.message
    c = make_host("xen-c", vnc_exposure_allowed=True)
    assert by_key(checks.plan(exposed, c))["vnc_exposure"].status == "pass"
    type(exposed).objects.filter(pk=exposed.pk).update(vnc_listen="127.0.0.1")
    exposed.refresh_from_db()
    assert by_key(checks.plan(exposed, b))["vnc_exposure"].status == "pass"


def test_an_empty_selection_is_an_error_not_all_hosts():
    a = make_host("xen-a")
    make_host("xen-b")
    with pytest.raises(ValueError, match="Tick at least one host"), transaction.atomic():
        queue_from_post(a, [], None)
    assert not Job.objects.filter(kind="host.migration_access").exists()
