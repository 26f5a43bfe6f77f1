"""The edit page under pressure: stale pages, two tabs, VNC displays, a restart still pending,
detached disks still plugged in, and a PVH kernel that went missing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import Quota
from dom0.sim import SimHost
from domains import actions, cfg, records
from domains.editing import views
from domains.editing.forms import EditForm, free_volumes
from domains.models import Domain, DomainState
from hosts.models import Host
from jobs.models import Job
from storage import users
from storage.models import Volume
from tests.domains.edit_support import edit_data, last_job, operator, save_edit
from tests.domains.support import act, create_via_form, job_log_text, refreshed_host
from tests.support.roles import ensure_roles

KERNEL = "/usr/local/lib/grub-pvh/grub-i386-xen_pvh.bin"


def _stopped_domu(host: Host, name: str, owner: Any, *, vnc_display: int | None = None) -> Domain:
    domain = Domain.objects.create(host=host, name=name, owner=owner, memory_mb=512)
    settings = cfg.Settings(
        name, 512, 1, None, None, "bridge0", vnc_enabled=vnc_display is not None,
        vnc_display=vnc_display, vnc_password="Ab3dEf7h" if vnc_display is not None else "",
    )  # fmt: skip
    records.add_version(domain, cfg.render(cfg.build(settings)), author=owner)
    domain.refresh_from_db()
    return domain


def _post(user: Any, domain: Domain, data: dict[str, Any]) -> Any:
    request = RequestFactory().post(reverse("domains:edit", args=[domain.code]), data)
    request.user = user
    request._messages = CookieStorage(request)
    return request


@pytest.mark.django_db
def test_a_stale_page_is_refused_and_shown_again_from_the_current_config(admin_client, admin_user):
    host = Host.objects.create(name="xen-er1", transport="sim", sim_dir="/nonexistent")
    domain = _stopped_domu(host, "er1", admin_user)
    first = edit_data(domain, admin_user, memory_mb=768)
    second = edit_data(domain, admin_user, memory_mb=640)  # another tab, same version
    url = reverse("domains:edit", args=[domain.code])
    assert admin_client.post(url, first).status_code == 302
    response = admin_client.post(url, second)
    assert response.status_code == 200
    page = response.content.decode()
    assert "the config changed since this page was opened" in page
    assert 'name="memory_mb" value="768"' in page and 'value="640"' not in page
    assert 'name="base" value="2"' in page
    assert domain.versions.count() == 2 and "memory = 768" in records.current_text(domain)


@pytest.mark.django_db
def test_the_quota_is_checked_again_when_saving_under_the_domus_lock(django_user_model):
    ensure_roles()
    user = operator(django_user_model)
    host = Host.objects.create(name="xen-er2", transport="sim", sim_dir="/nonexistent")
    domain = _stopped_domu(host, "er2", user)
    Quota.objects.create(user=user, memory_mb=1536)
    form = EditForm(edit_data(domain, user, memory_mb=1024), domain=domain, user=user)
    assert form.is_valid(), form.errors
    # Meanwhile, in another tab, a second domU of the same owner starts with 1024 MB.
    Domain.objects.create(
        host=host, name="er2b", owner=user, memory_mb=1024, state=DomainState.RUNNING
    )
    request = _post(user, domain, form.data)
    assert views._save(request, domain, form) == views.REFUSED
    assert "Quota exceeded for memory" in str(form.errors["memory_mb"])
    assert domain.versions.count() == 1


@pytest.mark.django_db
def test_a_vnc_display_taken_while_editing_is_never_written(admin_user):
    host = Host.objects.create(name="xen-er3", transport="sim", sim_dir="/nonexistent")
    domain = _stopped_domu(host, "er3", admin_user)
    data = edit_data(domain, admin_user, vnc_enabled="on", vnc_listen="127.0.0.1")
    form = EditForm(data, domain=domain, user=admin_user)
    assert form.is_valid(), form.errors
    offered = form.new_config().vncdisplay
    assert offered is not None
    _stopped_domu(host, "er3b", admin_user, vnc_display=offered)  # another page's create took it
    # The save picks the display again under the host's lock: the next free one, which the
    # config and the row both say (never the one another domU has, never a row hiding a clash).
    assert views._save(_post(admin_user, domain, data), domain, form) == views.SAVED
    domain.refresh_from_db()
    assert domain.vnc_display == offered + 1
    assert cfg.parse(records.current_text(domain)).vncdisplay == offered + 1


@pytest.mark.django_db
def test_an_edit_moves_a_display_another_domu_has_instead_of_hiding_the_clash(admin_user):
    host = Host.objects.create(name="xen-er4", transport="sim", sim_dir="/nonexistent")
    _stopped_domu(host, "er4a", admin_user, vnc_display=1)
    domain = _stopped_domu(host, "er4", admin_user, vnc_display=1)  # an imported clash
    assert domain.vnc_display is None
    data = edit_data(domain, admin_user, memory_mb=640)
    form = EditForm(data, domain=domain, user=admin_user)
    assert form.is_valid(), form.errors
    assert views._save(_post(admin_user, domain, data), domain, form) == views.SAVED
    domain.refresh_from_db()
    assert domain.vnc_display == 2 and cfg.parse(records.current_text(domain)).vncdisplay == 2


@pytest.mark.django_db(transaction=True)
def test_nothing_is_applied_live_while_a_restart_is_pending(
    worker, admin_client, admin_user, tmp_path
):
    host = refreshed_host("xen-er5", tmp_path)
    domain, job = create_via_form(admin_client, host, "er5", memory_mb=1024)
    assert job.status == "succeeded", job.error
    assert save_edit(admin_client, domain, admin_user, maxmem_mb=4096).status_code == 302
    domain.refresh_from_db()
    assert domain.restart_pending  # it still runs with a 1024 MB ceiling
    page = admin_client.get(reverse("domains:edit", args=[domain.code])).content.decode()
    assert 'data-testid="no-apply-now"' in page and 'name="apply"' not in page
    preview = admin_client.post(
        reverse("domains:edit_preview", args=[domain.code]),
        edit_data(domain, admin_user, memory_mb=3000),
    ).content.decode()
    assert "runs-older" in preview and "Can apply now" not in preview
    response = save_edit(admin_client, domain, admin_user, memory_mb=3000, apply="1")
    assert response.status_code == 302
    assert not Job.objects.on(domain).filter(kind=actions.APPLY).exists()
    domain.refresh_from_db()
    assert domain.restart_pending and domain.memory_mb == 3000
    listing = SimHost(host.sim_dir).run(["xl", "list", "er5"]).stdout
    assert listing.splitlines()[1].split()[2] == "1024"


@pytest.mark.django_db(transaction=True)
def test_a_disk_detached_for_the_next_start_stays_held_until_the_domu_stops(
    worker, admin_client, admin_user, tmp_path
):
    host = refreshed_host("xen-er6", tmp_path)
    domain, job = create_via_form(admin_client, host, "er6")
    assert job.status == "succeeded", job.error
    assert save_edit(admin_client, domain, admin_user, new_disk_gib=2, apply="1").status_code == 302
    assert last_job(domain, actions.APPLY).status == "succeeded"
    volume = domain.extra_volumes.get()
    other = _stopped_domu(host, "er6b", admin_user)

    response = save_edit(admin_client, domain, admin_user, detach=["xvdb"])  # not applied now
    assert response.status_code == 302
    domain.refresh_from_db()
    assert domain.restart_pending and "xvdb" not in records.current_text(domain)
    # Still plugged into the running domU: not free for another, not destroyable.
    assert list(domain.extra_volumes.all()) == [volume]
    assert volume not in free_volumes(other, admin_user)
    assert users.in_use("volume", volume) == "the domU er6 uses it as a disk"

    assert act(admin_client, domain, "destroy").status == "succeeded"
    domain.refresh_from_db()
    assert not domain.restart_pending and not domain.extra_volumes.exists()
    assert volume in free_volumes(other, admin_user)
    assert Volume.objects.get(pk=volume.pk).state == Volume.State.READY


@pytest.mark.django_db(transaction=True)
def test_start_and_apply_check_a_pvh_domus_kernel(worker, admin_client, admin_user, tmp_path):
    host = refreshed_host("xen-er7", tmp_path)
    kernel = SimHost(host.sim_dir).path(KERNEL)
    kernel.parent.mkdir(parents=True, exist_ok=True)
    kernel.write_bytes(b"\x7fELF pvh")
    domain, job = create_via_form(admin_client, host, "er7", guest_type="pvh", kernel=KERNEL)
    assert job.status == "succeeded", job.error
    assert act(admin_client, domain, "destroy").status == "succeeded"
    kernel.unlink()

    job = act(admin_client, domain, "start")
    assert job.status == "failed"
    assert f"{KERNEL} is not on xen-er7: it was not started" in job.error
    assert "xl create" not in " ".join(" ".join(s.argv or []) for s in job.steps.all())

    assert save_edit(admin_client, domain, admin_user, new_disk_gib=1).status_code == 302
    job = last_job(domain, actions.APPLY)
    assert job.status == "succeeded", job.error
    assert "its next start will fail" in job_log_text(job)
