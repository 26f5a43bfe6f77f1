"""Templates made from clones, and promotes among them (real worker, simulator).

A template's volume may itself be a clone: that does not stop it from making clones. Only a
promote that moves its own snapshot away does.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from domains.clones import logic
from domains.models import Domain, DomainTemplate
from jobs.models import Job
from storage.models import Volume
from tests.domains.support import act, job_log_text, refreshed_host
from tests.domains.test_clones import clone_batch
from tests.domains.test_templates import make_template, zfs
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def origin(host, dataset: str) -> str:
    return zfs(host, "get", "-H", "-o", "value", "origin", dataset).strip()


def test_a_template_made_from_a_clone_makes_clones_even_after_its_parent_is_promoted(
    worker, admin_client, tmp_path
):
    host = refreshed_host("xen-chain", tmp_path)
    t1, _ = make_template(admin_client, host)
    _, jobs = clone_batch(admin_client, t1, name="c{n}", count=2, start=0)
    assert all(j.status == "succeeded" for j in jobs), [job_log_text(j) for j in jobs]
    # Stop c1 and make it the template t2 from its page's form.
    c1 = Domain.objects.get(host=host, name="c1")
    assert act(admin_client, c1, "destroy").status == "succeeded"
    url = reverse("domains:make_template", args=[c1.code])
    admin_client.post(url, {"confirm": "c1", "name": "t2"})
    job = wait_for_job(Job.objects.filter(kind="domain.make_template").latest("created_at"))
    assert job.status == "succeeded", job_log_text(job)
    t2 = DomainTemplate.objects.get(host=host, name="t2")
    # Its volume is a clone of t1's snapshot, yet it owns its own snapshot: it can clone.
    assert (
        Volume.objects.get(dataset="zroot/xen/c1-disk0").origin == "zroot/xen/base-disk0@template"
    )
    assert logic.why_not_usable(t2) == ""
    assert "the template t2" in logic.dependents(t1).names()
    _, jobs = clone_batch(admin_client, t2, name="d{n}", count=1)
    assert jobs and jobs[0].status == "succeeded", job_log_text(jobs[0])
    assert origin(host, "zroot/xen/d1-disk0") == "zroot/xen/c1-disk0@template"
    # Promote c0 (a clone of t1): t1's snapshot moves to c0; t2 keeps its own.
    c0 = Domain.objects.get(host=host, name="c0")
    admin_client.post(reverse("domains:promote", args=[c0.code]))
    job = wait_for_job(Job.objects.filter(kind="domain.promote").latest("created_at"))
    assert job.status == "succeeded", job_log_text(job)
    assert "the template t2" in job_log_text(job)  # said what it changes before it did
    t1.refresh_from_db()
    t2.refresh_from_db()
    assert "can make no more clones" in logic.why_not_usable(t1)
    assert origin(host, "zroot/xen/c1-disk0") == "zroot/xen/c0-disk0@template"
    assert Volume.objects.get(dataset="zroot/xen/c1-disk0").origin == "zroot/xen/c0-disk0@template"
    assert logic.why_not_usable(t2) == ""
    _, jobs = clone_batch(admin_client, t2, name="d{n}", count=1, start=2)
    assert jobs and jobs[0].status == "succeeded", job_log_text(jobs[0])
    assert origin(host, "zroot/xen/d2-disk0") == "zroot/xen/c1-disk0@template"
    # c0 now holds the snapshot t1's volume and c1-disk0 (t2) hang off: not deletable with them.
    reasons = logic.delete_blockers(c0)
    assert len(reasons) == 1 and reasons[0].startswith(
        "c0's disk zroot/xen/c0-disk0 has dependent clones: "
        "zroot/xen/base-disk0 (the template base), zroot/xen/c1-disk0 (the template t2)"
    )
    # The picker offers t2, not t1.
    picker = admin_client.get(reverse("domains:clone_new")).context["form"]
    assert list(picker.fields["template"].queryset) == [t2]
