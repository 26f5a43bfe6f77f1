"""Attach/detach through the views against a stored PCI listing (no worker: attaching writes a
config version only), and the host section as each role sees it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from domains import cfg, records
from domains.actions import PCI_LIST
from domains.models import Domain, DomainState
from domains.pci import logic
from hosts.models import Host
from jobs.enqueue import Target, add_targets
from jobs.models import Job
from tests.support.roles import roles  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]

NIC, HBA = "0000:03:00.0", "0000:04:00.0"
LISTING = {
    "devices": [
        {"bdf": "0000:00:19.0", "driver": "em0", "class_code": "0x020000", "vendor": "0x8086",
         "device": "0x1502", "description": "82579LM Gigabit"},
        {"bdf": NIC, "driver": "none0", "class_code": "0x020000", "vendor": "0x8086",
         "device": "0x10fb", "description": "82599ES 10G"},
        {"bdf": HBA, "driver": "none1", "class_code": "0x010700", "vendor": "0x1000",
         "device": "0x0097", "description": "SAS3008"},
    ],
    "assignable": [NIC, HBA],
    "assignable_error": "",
}  # fmt: skip


def _user(django_user_model, name: str, role: str):
    user = django_user_model.objects.create_user(name, f"{name}@example.com", "pw-123-abc")
    user.groups.add(Group.objects.get(name=role))
    return user


def _domain(host: Host, name: str, owner, display: int) -> Domain:
    domain = Domain.objects.create(
        host=host, name=name, owner=owner, memory_mb=512, vnc_display=display,
        vnc_password="Pw7xKq2m",
    )  # fmt: skip
    text = cfg.render(
        cfg.build(cfg.Settings(name, 512, 1, None, None, "bridge0", True, "127.0.0.1", display))
    )
    records.add_version(domain, text, author=owner, note="Created")
    return domain


@pytest.fixture
def world(django_user_model):
    host = Host.objects.create(name="xen1", transport="sim", sim_dir="/nonexistent")
    admin = _user(django_user_model, "ada", "admin")
    operator = _user(django_user_model, "olga", "operator")
    job = Job.objects.create(
        kind=PCI_LIST, title="Read PCI devices on xen1", status="succeeded",
        finished_at=timezone.now(), result=LISTING, requested_by=admin,
    )  # fmt: skip
    add_targets(job, [Target("host", host, lock=f"pci:{host.pk}")])
    first = _domain(host, "db1", operator, 1)
    second = _domain(host, "db2", operator, 2)
    return host, admin, operator, first, second


def _post(client, name: str, domain: Domain, bdf: str) -> list[str]:
    response = client.post(reverse(f"domains:{name}", args=[domain.code]), {"bdf": bdf})
    assert response.status_code == 302
    return [str(m) for m in get_messages(response.wsgi_request)]


def _pci(domain: Domain) -> list[str]:
    return logic.config_pci(cfg.parse(records.current_text(domain)))


def test_it_writes_the_device_into_a_stopped_domus_config(client, world):
    host, _, operator, first, second = world
    client.force_login(operator)
    said = _post(client, "pci_attach", first, "03:00.0")
    assert any("next start" in m for m in said), said
    assert _pci(first) == [NIC]
    first.refresh_from_db()
    assert first.pci == [NIC]
    assert first.versions.order_by("-number").first().note == f"Attach PCI device {NIC}"
    page = client.get(first.get_absolute_url()).content.decode()
    assert f'data-pci="{NIC}"' in page and "82599ES 10G" in page
    # The card offers only what is still free: the HBA, not the NIC now given to db1.
    page = client.get(second.get_absolute_url()).content.decode()
    assert f'<option value="{HBA}">' in page and f'<option value="{NIC}">' not in page


def test_it_refuses_one_device_to_two_domus(client, world):
    _, _, operator, first, second = world
    client.force_login(operator)
    _post(client, "pci_attach", first, NIC)
    before = records.current_text(second)
    said = _post(client, "pci_attach", second, NIC)
    assert any("already given to db1" in m for m in said), said
    assert records.current_text(second) == before


def test_it_refuses_a_running_domu_and_a_device_that_is_not_assignable(client, world):
    _, _, operator, first, _ = world
    client.force_login(operator)
    said = _post(client, "pci_attach", first, "0000:00:19.0")
    assert any("not assignable" in m for m in said), said
    Domain.objects.filter(pk=first.pk).update(state=DomainState.RUNNING, domid=3)
    said = _post(client, "pci_attach", first, NIC)
    assert any("is running" in m for m in said), said
    assert _pci(first) == []


def test_it_detaches_and_keeps_other_entries(client, world):
    _, _, operator, first, _ = world
    client.force_login(operator)
    _post(client, "pci_attach", first, NIC)
    _post(client, "pci_attach", first, HBA)
    assert _pci(first) == [NIC, HBA]
    said = _post(client, "pci_detach", first, NIC)
    assert any("out of db1's config" in m for m in said), said
    assert _pci(first) == [HBA]


def test_it_shows_the_host_section_with_admin_buttons_to_admins_only(client, world):
    host, admin, operator, first, _ = world
    client.force_login(operator)
    _post(client, "pci_attach", first, NIC)
    url = reverse("domains:pci_host_panel", args=[host.code])
    page = client.get(url).content.decode()
    assert "82599ES 10G" in page and "Read PCI devices" in page and "db1" in page
    assert "Make assignable" not in page
    response = client.post(
        reverse("domains:pci_assignable", args=[host.code]),
        {"bdf": "0000:00:19.0", "action": "add"},
    )
    assert response.status_code == 403
    client.force_login(admin)
    page = client.get(url).content.decode()
    assert "Make assignable" in page and "the host drops off the network" in page
    # Giving back a device db1's config names is refused; an admin is told to detach first.
    response = client.post(
        reverse("domains:pci_assignable", args=[host.code]), {"bdf": NIC, "action": "remove"}
    )
    assert any("Detach it there first" in str(m) for m in get_messages(response.wsgi_request))
    response = client.post(
        reverse("domains:pci_assignable", args=[host.code]), {"bdf": HBA, "action": "remove"}
    )
    job = Job.objects.on(host).latest("created_at")
    assert job.kind == "host.pci_assignable" and job.params == {"bdf": HBA, "add": False}
