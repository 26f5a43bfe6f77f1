"""Promote (real worker, simulator): it changes the template, so it needs the right to change
the template; it waits for the template's clone jobs; it says what it does; and afterwards the
promoted domU's disks cannot be destroyed while others hang off them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from domains.clones import logic, promotion
from domains.models import Domain, DomainTemplate
from jobs.models import Job
from storage.models import Volume
from tests.domains.support import job_log_text, refreshed_host
from tests.domains.test_clones import TPL_SNAP, clone_batch
from tests.domains.test_templates import make_template
from tests.support.jobs import wait_for_job
from tests.support.roles import ensure_roles

pytestmark = pytest.mark.django_db(transaction=True)


def user(name: str, group: str):
    from django.contrib.auth import get_user_model

    made = get_user_model().objects.create_user(name, password=f"pw-{name}-123")
    made.groups.add(Group.objects.get(name=group))
    return made


def test_only_who_may_change_the_template_may_promote_its_clone(
    worker, admin_client, client, tmp_path
):
    ensure_roles()
    host = refreshed_host("xen-prperm", tmp_path)
    template, _ = make_template(admin_client, host)
    _, jobs = clone_batch(admin_client, template, count=2)
    assert all(j.status == "succeeded" for j in jobs)
    olga, vera = user("olga", "operator"), user("vera", "viewer")
    web1 = Domain.objects.get(host=host, name="web-1")
    Domain.objects.filter(pk=web1.pk).update(owner=olga)
    url = reverse("domains:promote", args=[web1.code])
    # olga owns web-1 but may not see the template: promoting would wreck it for its owner.
    client.force_login(olga)
    assert client.post(url).status_code == 404
    assert "may not change" in promotion.refusal(olga, promotion.effects(web1))
    # A viewer who owns both may look but not promote.
    client.force_login(vera)
    Domain.objects.filter(pk=web1.pk).update(owner=vera)
    DomainTemplate.objects.filter(pk=template.pk).update(owner=vera)
    assert client.post(url).status_code == 403
    assert not Job.objects.filter(kind="domain.promote").exists()
    # The page says exactly what happens to the template and web-2.
    text = promotion.effects(web1).text()
    assert "moves zroot/xen/base-disk0@template to web-1's disks" in text
    assert "The template base's volumes become clones of web-1's disks" in text
    assert "web-2 then depend on web-1's disks" in text
    # With the right to change both, olga may; not while a clone job of the template is active.
    Domain.objects.filter(pk=web1.pk).update(owner=olga)
    DomainTemplate.objects.filter(pk=template.pk).update(owner=olga)
    client.force_login(olga)
    busy = Job.objects.create(
        kind="domain.clone", title="x", status="running", params={"template_id": template.pk}
    )
    page = client.post(url, follow=True).content.decode()
    assert "is making clones right now" in page and f"#{busy.pk}" in page
    assert not Job.objects.filter(kind="domain.promote").exists()
    Job.objects.filter(pk=busy.pk).update(status="succeeded")
    assert promotion.refusal(olga, promotion.effects(web1)) == ""
    # A clone row still being made (not on the host) is not read back: the job succeeds.
    Volume.objects.create(
        host=host, dataset="zroot/xen/web-9-disk0", size_bytes=1, origin=TPL_SNAP, owner=olga
    )
    assert client.post(url).status_code == 302
    job = wait_for_job(Job.objects.filter(kind="domain.promote").latest("created_at"))
    assert job.status == "succeeded", job_log_text(job)
    assert "zroot/xen/web-9-disk0 is not ready" in job_log_text(job)
    assert "Template base can make no more clones" in job_log_text(job)
    template.refresh_from_db()
    assert template.snapshot == "" and "can make no more clones" in logic.why_not_usable(template)


def test_a_promoted_domu_says_why_it_cannot_go_with_its_volumes(worker, admin_client, tmp_path):
    host = refreshed_host("xen-prdel", tmp_path)
    template, _ = make_template(admin_client, host)
    _, jobs = clone_batch(admin_client, template, count=2)
    assert all(j.status == "succeeded" for j in jobs)
    web1 = Domain.objects.get(host=host, name="web-1")
    assert logic.delete_blockers(web1) == []
    admin_client.post(reverse("domains:promote", args=[web1.code]))
    job = wait_for_job(Job.objects.filter(kind="domain.promote").latest("created_at"))
    assert job.status == "succeeded", job_log_text(job)
    assert logic.delete_blockers(web1) == [
        "web-1's disk zroot/xen/web-1-disk0 has dependent clones: zroot/xen/base-disk0 (the "
        "template base), zroot/xen/web-2-disk0 (web-2). zfs destroys no volume whose snapshot "
        "other volumes are cloned from: delete those first, or delete web-1 and keep its volumes."
    ]
    # The delete page refuses it before anything runs (zfs would fail after the config went).
    page = admin_client.post(
        reverse("domains:delete", args=[web1.code]),
        {"confirm": "web-1", "destroy_volume": "1"},
        follow=True,
    ).content.decode()
    assert "Not deleted: web-1&#x27;s disk zroot/xen/web-1-disk0 has dependent clones" in page
    assert not Job.objects.filter(kind="domain.delete").exists()
    web2 = Domain.objects.get(host=host, name="web-2")
    assert logic.delete_blockers(web2) == []
