"""Who may see and act on a domU; importing domUs the panel did not create."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from dom0.sim import SimHost
from domains import cfg, records
from domains.models import Domain
from hosts.models import Host
from jobs.models import Job
from tests.domains.support import poll, refreshed_host
from tests.support.jobs import wait_for_job


def _user(django_user_model, name: str, *groups: str):
    user = django_user_model.objects.create_user(name, f"{name}@example.com", "pw-123-abc")
    for group in groups:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def owned(django_user_model, db):
    host = Host.objects.create(name="xen1", transport="sim", sim_dir="/nonexistent")
    owner = _user(django_user_model, "olga", "operator", "blue")
    domain = Domain.objects.create(
        host=host,
        name="web1",
        owner=owner,
        team=Group.objects.get(name="blue"),
        memory_mb=512,
        vnc_display=1,
        vnc_password="Pw7xKq2m",
    )
    text = cfg.render(
        cfg.build(
            cfg.Settings("web1", 512, 1, None, None, "bridge0", True, "127.0.0.1", 1, "Pw7xKq2m")
        )
    )
    records.add_version(domain, text, author=owner, note="Created")
    return domain


def _post_everything(client, domain) -> list[int]:
    code = domain.code
    urls = [
        reverse("domains:action", args=[code, "start"]),
        reverse("domains:action", args=[code, "destroy"]),
        reverse("domains:finish_install", args=[code]),
        reverse("domains:cd_insert", args=[code]),
        reverse("domains:delete", args=[code]),
        reverse("domains:restore", args=[code, 1]),
        reverse("domains:vnc_password", args=[code]),
    ]
    return [client.post(url, {"confirm": "web1"}).status_code for url in urls]


def test_it_hides_a_domu_from_strangers(client, owned, django_user_model):
    client.force_login(_user(django_user_model, "sam", "operator"))
    assert client.get(owned.get_absolute_url()).status_code == 404
    assert client.get(reverse("domains:history", args=[owned.code])).status_code == 404
    assert client.get(reverse("domains:live", args=[owned.code])).status_code == 404
    assert set(_post_everything(client, owned)) == {404}
    assert "web1" not in client.get(reverse("domains:list")).content.decode()
    assert "web1" not in client.get(reverse("dashboard")).content.decode()
    assert not Job.objects.exists()


def test_it_lets_a_viewer_look_but_not_act_or_read_the_password(client, owned, django_user_model):
    client.force_login(_user(django_user_model, "vic", "viewer", "blue"))
    page = client.get(owned.get_absolute_url())
    assert page.status_code == 200
    body = page.content.decode()
    assert "Pw7xKq2m" not in body and "only for people who may operate" in body
    assert ">Start<" not in body
    assert set(_post_everything(client, owned)) == {403}
    assert client.get(reverse("domains:new")).status_code == 403
    assert not Job.objects.exists()


def test_it_reveals_the_password_to_the_owner_only_on_request(client, owned):
    client.force_login(owned.owner)
    page = client.get(owned.get_absolute_url()).content.decode()
    assert "Pw7xKq2m" not in page and "Reveal" in page
    assert "vncpasswd = &quot;********&quot;" in page
    reveal = client.post(reverse("domains:vnc_password", args=[owned.code]))
    assert reveal.status_code == 200 and "Pw7xKq2m" in reveal.content.decode()
    assert client.get(reverse("domains:vnc_password", args=[owned.code])).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_it_imports_domus_found_on_the_host(worker, admin_client, tmp_path):
    host = refreshed_host("xen9", tmp_path)
    sim = SimHost(host.sim_dir)
    text = (
        'type = "hvm"\nname = "legacy"\nmemory = 768\nvcpus = 2\n'
        "disk = [ '/dev/zvol/zroot/xen/legacy0,raw,hda,rw' ]\nvif = [ 'bridge=bridge0' ]\n"
        'vnc = 1\nvnclisten = "0.0.0.0"\nvncdisplay = 7\nvncunused = 0\n'
    )
    sim.path("/usr/local/etc/xen/legacy.cfg").write_text(text)
    assert sim.run(["xl", "create", "/usr/local/etc/xen/legacy.cfg"]).rc == 0
    sim.path("/root/adhoc.cfg").write_text('type = "hvm"\nname = "adhoc"\nmemory = 256\n')
    assert sim.run(["xl", "create", "/root/adhoc.cfg"]).rc == 0
    poll(host)

    page = admin_client.get(host.get_absolute_url()).content.decode()
    assert 'data-unmanaged="legacy"' in page and 'data-unmanaged="adhoc"' in page
    for name in ("legacy", "adhoc"):
        response = admin_client.post(reverse("domains:import", args=[host.code]), {"name": name})
        assert response.status_code == 302
        job = wait_for_job(Job.objects.filter(kind="domain.import").latest("created_at"))
        assert job.status == "succeeded", job.error

    legacy = Domain.objects.get(name="legacy")
    assert legacy.imported and legacy.memory_mb == 768 and legacy.vcpus == 2
    assert legacy.vnc_display == 7 and legacy.state in ("running", "blocked")
    assert legacy.versions.get().text == text
    assert legacy.versions.get().note == "Imported from /usr/local/etc/xen/legacy.cfg"
    adhoc = Domain.objects.get(name="adhoc")
    assert adhoc.versions.get().note == "Imported from xl list -l" and adhoc.memory_mb == 256
    page = admin_client.get(host.get_absolute_url()).content.decode()
    assert "data-unmanaged" not in page and 'data-domain="legacy"' in page
