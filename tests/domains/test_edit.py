"""Edit a domU end to end (real worker, simulated Dom0): apply now, restart pending, NICs, disks,
quotas, and who may edit."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from accounts.models import Quota
from dom0.sim import SimHost
from domains import actions, records
from domains.models import Domain
from storage.models import Volume
from tests.domains.edit_support import edit_data, last_job, operator, save_edit
from tests.domains.support import GIB, act, create_via_form, refreshed_host
from tests.support.roles import ensure_roles

pytestmark = pytest.mark.django_db(transaction=True)


def _xl_row(sim: SimHost, name: str) -> dict:
    rows = sim.run(["xl", "list", "-l", name]).stdout
    return json.loads(rows)[0]


def _vif_macs(sim: SimHost, name: str) -> list[str]:
    return [n.get("mac") for n in _xl_row(sim, name)["config"].get("nics", [])]


def test_it_applies_a_memory_change_to_the_running_domu_now(
    worker, admin_client, admin_user, tmp_path
):
    host = refreshed_host("xen-ed1", tmp_path)
    domain, job = create_via_form(admin_client, host, "ed1", memory_mb=1024)
    assert job.status == "succeeded", job.error
    # Room to grow first: a new ceiling waits for the next start.
    response = save_edit(admin_client, domain, admin_user, maxmem_mb=2048, maxvcpus=4)
    assert response.status_code == 302
    domain.refresh_from_db()
    assert domain.restart_pending and domain.maxmem_mb == 2048
    assert act(admin_client, domain, "destroy").status == "succeeded"
    domain.refresh_from_db()
    assert not domain.restart_pending  # not running: it starts from its file
    assert act(admin_client, domain, "start").status == "succeeded"

    response = save_edit(admin_client, domain, admin_user, memory_mb=1536, vcpus=2, apply="1")
    assert response.status_code == 302
    job = last_job(domain, actions.APPLY)
    assert job.status == "succeeded", job.error
    argvs = [s.argv for s in job.steps.all()]
    assert ["xl", "mem-set", "ed1", "1536m"] in argvs and ["xl", "vcpu-set", "ed1", "2"] in argvs
    domain.refresh_from_db()
    assert domain.memory_mb == 1536 and domain.vcpus == 2 and not domain.restart_pending
    listing = SimHost(host.sim_dir).run(["xl", "list", "ed1"]).stdout
    assert listing.splitlines()[1].split()[2:4] == ["1536", "2"]


def test_a_nic_added_live_keeps_its_mac_through_finish_install_and_a_restart(
    worker, admin_client, admin_user, tmp_path
):
    host = refreshed_host("xen-ed2", tmp_path)
    from tests.domains.support import put_iso

    iso = put_iso(host)
    domain, job = create_via_form(admin_client, host, "ed2", iso=str(iso.code))
    assert job.status == "succeeded", job.error
    first = domain.nics.get().mac
    assert first.startswith("00:16:3e:")
    sim = SimHost(host.sim_dir)
    assert _vif_macs(sim, "ed2") == [first]

    data = edit_data(domain, admin_user, add_nic="on", add_nic_bridge="bridge0", apply="1")
    second = data["add_nic_mac"]
    response = admin_client.post(reverse("domains:edit", args=[domain.code]), data)
    assert response.status_code == 302
    job = last_job(domain, actions.APPLY)
    assert job.status == "succeeded", job.error
    argvs = [s.argv for s in job.steps.all()]
    assert ["xl", "network-attach", "ed2", "bridge=bridge0", f"mac={second}"] in argvs
    assert sorted(n.mac for n in domain.nics.all()) == sorted([first, second])

    response = admin_client.post(reverse("domains:finish_install", args=[domain.code]))
    assert response.status_code == 302
    assert last_job(domain, actions.FINISH_INSTALL).status == "succeeded"
    assert _vif_macs(sim, "ed2") == [first, second]
    assert act(admin_client, domain, "destroy").status == "succeeded"
    assert act(admin_client, domain, "start").status == "succeeded"
    assert _vif_macs(sim, "ed2") == [first, second]
    assert f"mac={second}" in records.current_text(domain)


def test_a_change_that_needs_a_restart_sets_restart_pending_until_a_start(
    worker, admin_client, admin_user, tmp_path
):
    host = refreshed_host("xen-ed3", tmp_path)
    domain, job = create_via_form(admin_client, host, "ed3")
    assert job.status == "succeeded", job.error
    response = save_edit(admin_client, domain, admin_user, on_crash="preserve", apply="1")
    assert response.status_code == 302
    domain.refresh_from_db()
    assert domain.restart_pending
    assert 'on_crash = "preserve"' in records.current_text(domain)
    page = admin_client.get(domain.get_absolute_url()).content.decode()
    assert "restart pending" in page
    assert "restart pending" in admin_client.get(reverse("domains:list")).content.decode()
    act(admin_client, domain, "destroy")
    act(admin_client, domain, "start")
    domain.refresh_from_db()
    assert not domain.restart_pending


def test_it_grows_a_volume_and_refuses_to_shrink_it(worker, admin_client, tmp_path):
    host = refreshed_host("xen-ed4", tmp_path)
    domain, job = create_via_form(admin_client, host, "ed4", disk_gib=20)
    assert job.status == "succeeded", job.error
    volume = domain.volume
    url = reverse("domains:volume_grow", args=[domain.code])
    response = admin_client.post(url, {"volume": str(volume.code), "size_gib": 10}, follow=True)
    assert "only grows volumes" in response.content.decode()
    assert not domain.versions.filter(note__startswith="Grow").exists()
    response = admin_client.post(url, {"volume": str(volume.code), "size_gib": 30})
    assert response.status_code == 302
    job = last_job(domain, actions.VOLUME_GROW)
    assert job.status == "succeeded", job.error
    volume.refresh_from_db()
    assert volume.size_bytes == 30 * GIB
    out = SimHost(host.sim_dir).run(
        ["zfs", "get", "-H", "-p", "-o", "value", "volsize", volume.dataset]
    )
    assert int(out.stdout.strip()) == 30 * GIB


def test_it_adds_a_new_volume_to_a_stopped_domu(worker, admin_client, admin_user, tmp_path):
    host = refreshed_host("xen-ed5", tmp_path)
    domain, job = create_via_form(admin_client, host, "ed5")
    assert job.status == "succeeded", job.error
    act(admin_client, domain, "destroy")
    response = save_edit(admin_client, domain, admin_user, new_disk_gib=5)
    assert response.status_code == 302
    job = last_job(domain, actions.APPLY)
    assert job.status == "succeeded", job.error
    new = Volume.objects.get(dataset=f"{host.volumes_parent}/ed5-disk1")
    assert new.state == Volume.State.READY and new.size_bytes == 5 * GIB
    assert list(domain.extra_volumes.all()) == [new]
    assert f"vdev=xvdb, access=rw, target=/dev/zvol/{new.dataset}" in records.current_text(domain)
    assert act(admin_client, domain, "start").status == "succeeded"


def test_it_refuses_increases_beyond_the_quota(worker, client, django_user_model, tmp_path):
    ensure_roles()
    user = operator(django_user_model)
    client.force_login(user)
    host = refreshed_host("xen-ed6", tmp_path)
    domain, job = create_via_form(client, host, "ed6", memory_mb=1024, disk_gib=20)
    assert job.status == "succeeded", job.error
    Quota.objects.create(user=user, memory_mb=1536, disk_bytes=22 * GIB)
    response = save_edit(client, domain, user, memory_mb=2048)
    assert response.status_code == 200
    assert "Quota exceeded for memory" in response.content.decode()
    response = save_edit(client, domain, user, new_disk_gib=5)
    assert "Quota exceeded for disk" in response.content.decode()
    url = reverse("domains:volume_grow", args=[domain.code])
    response = client.post(url, {"volume": str(domain.volume.code), "size_gib": 30}, follow=True)
    assert "Quota exceeded for disk" in response.content.decode()
    domain.refresh_from_db()
    assert domain.memory_mb == 1024 and domain.versions.count() == 1


def test_viewers_get_403_and_strangers_404_on_the_edit_urls(client, django_user_model, db):
    ensure_roles()
    from django.contrib.auth.models import Group

    from hosts.models import Host

    host = Host.objects.create(name="xen-ed7", transport="sim", sim_dir="/nonexistent")
    owner = operator(django_user_model, "olga")
    team = Group.objects.create(name="blue")
    owner.groups.add(team)
    domain = Domain.objects.create(host=host, name="web1", owner=owner, team=team, memory_mb=512)
    records.add_version(domain, 'name = "web1"\nmemory = 512\ntype = "hvm"\n', author=owner)
    viewer = django_user_model.objects.create_user("vera", "v@example.com", "pw-123-abc")
    viewer.groups.add(Group.objects.get(name="viewer"), team)
    stranger = operator(django_user_model, "carol")
    urls = [
        ("get", reverse("domains:edit", args=[domain.code])),
        ("post", reverse("domains:edit", args=[domain.code])),
        ("post", reverse("domains:edit_preview", args=[domain.code])),
        ("post", reverse("domains:volume_grow", args=[domain.code])),
    ]
    for user, status in ((viewer, 403), (stranger, 404)):
        client.force_login(user)
        assert [getattr(client, m)(u).status_code for m, u in urls] == [status] * 4
    client.force_login(owner)
    assert client.get(urls[0][1]).status_code == 200


def test_it_makes_a_new_volume_and_attaches_it_live_then_detaches_it(
    worker, admin_client, admin_user, tmp_path
):
    host = refreshed_host("xen-ed8", tmp_path)
    domain, job = create_via_form(admin_client, host, "ed8")
    assert job.status == "succeeded", job.error
    sim = SimHost(host.sim_dir)
    response = save_edit(admin_client, domain, admin_user, new_disk_gib=2, apply="1")
    assert response.status_code == 302
    job = last_job(domain, actions.APPLY)
    assert job.status == "succeeded", job.error
    dataset = f"{host.volumes_parent}/ed8-disk1"
    argvs = [" ".join(s.argv or []) for s in job.steps.all()]
    assert any(a.startswith("zfs create") and a.endswith(dataset) for a in argvs)
    assert any(a.startswith("xl block-attach ed8") and "vdev=xvdb" in a for a in argvs)
    disks = [d.get("vdev") for d in _xl_row(sim, "ed8")["config"]["disks"]]
    assert "xvdb" in disks
    domain.refresh_from_db()
    assert not domain.restart_pending and domain.extra_volumes.get().dataset == dataset

    response = save_edit(admin_client, domain, admin_user, detach=["xvdb"], apply="1")
    assert response.status_code == 302
    job = last_job(domain, actions.APPLY)
    assert job.status == "succeeded", job.error
    assert ["xl", "block-detach", "ed8", "xvdb"] in [s.argv for s in job.steps.all()]
    assert "xvdb" not in [d.get("vdev") for d in _xl_row(sim, "ed8")["config"]["disks"]]
    assert not domain.extra_volumes.exists()
    assert Volume.objects.get(dataset=dataset).state == Volume.State.READY  # kept, now free
