"""PCI passthrough end to end (real worker, simulated host): read the devices, make one assignable,
attach it to a stopped domU, start it with the device, refuse it to a second domU."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from dom0.pci import parse_pci_assignable_list, parse_xl_pci_list
from dom0.sim import SimHost
from domains import cfg, records
from domains.actions import PCI_ASSIGNABLE, PCI_LIST
from domains.models import Domain
from domains.pci import listing as pci_listing
from domains.pci import logic
from hosts.models import Host
from jobs.models import Job
from tests.domains.support import act, create_via_form, refreshed_host
from tests.support.jobs import wait_for_job
from tests.support.roles import ensure_roles

pytestmark = pytest.mark.django_db(transaction=True)


def _host_job(host: Host, kind: str) -> Job:
    return wait_for_job(Job.objects.on(host).filter(kind=kind).latest("created_at"), timeout=30)


def _read(client: Client, host: Host) -> dict[str, Any]:
    response = client.post(reverse("domains:pci_read", args=[host.code]))
    assert response.status_code == 302
    job = _host_job(host, PCI_LIST)
    assert job.status == "succeeded", job.error
    return job.result


def _assignable(client: Client, host: Host, bdf: str, action: str) -> Job:
    response = client.post(
        reverse("domains:pci_assignable", args=[host.code]), {"bdf": bdf, "action": action}
    )
    assert response.status_code == 302
    return _host_job(host, PCI_ASSIGNABLE)


def _post(client: Client, name: str, domain: Domain, bdf: str) -> list[str]:
    response = client.post(reverse(f"domains:{name}", args=[domain.code]), {"bdf": bdf})
    assert response.status_code == 302
    return [str(m) for m in get_messages(response.wsgi_request)]


def _candidate(result: dict[str, Any]) -> str:
    """A device the simulated Dom0 has that is neither a bridge nor already assignable."""
    assignable = set(result["assignable"])
    for dev in result["devices"]:
        if dev["bdf"] not in assignable and not dev["class_code"].startswith("0x06"):
            return dev["bdf"]
    raise AssertionError(f"the simulated host has no device to pass through: {result}")


def _stopped(client: Client, host: Host, name: str) -> Domain:
    domain, job = create_via_form(client, host, name, memory_mb=512)
    assert job.status == "succeeded", job.error
    job = act(client, domain, "destroy")
    assert job.status == "succeeded", job.error
    domain.refresh_from_db()
    assert not domain.is_present
    return domain


def test_it_passes_an_assignable_device_through_to_one_domu_only(worker, admin_client, tmp_path):
    host = refreshed_host("xen-pci", tmp_path)
    sim = SimHost(host.sim_dir)
    result = _read(admin_client, host)
    assert result["devices"] and all(d["bdf"].startswith("0000:") for d in result["devices"])
    page = admin_client.get(reverse("domains:pci_host_panel", args=[host.code])).content.decode()
    assert result["devices"][0]["bdf"] in page and "Make assignable" in page

    bdf = _candidate(result)
    job = _assignable(admin_client, host, bdf, "add")
    assert job.status == "succeeded", job.error
    assert ["xl", "pci-assignable-add", bdf] in [s.argv for s in job.steps.all()]
    assert bdf in parse_pci_assignable_list(sim.run(["xl", "pci-assignable-list"]).stdout)
    assert bdf in job.result["assignable"]  # the host page shows the new state at once

    first = _stopped(admin_client, host, "gpu1")
    said = _post(admin_client, "pci_attach", first, bdf)
    assert any("next start" in m for m in said), said
    text = records.current_text(first)
    assert "pci = [" in text and f"'{bdf}'," in text
    first.refresh_from_db()
    assert first.pci == [bdf]
    card = admin_client.get(first.get_absolute_url()).content.decode()
    assert f'data-pci="{bdf}"' in card

    job = act(admin_client, first, "start")
    assert job.status == "succeeded", job.error
    assert bdf in parse_xl_pci_list(sim.run(["xl", "pci-list", "gpu1"]).stdout)

    # The same device to a second domU: refused, and its config does not change.
    second = _stopped(admin_client, host, "gpu2")
    before = records.current_text(second)
    said = _post(admin_client, "pci_attach", second, bdf)
    assert any("already given to gpu1" in m for m in said), said
    assert records.current_text(second) == before
    panel = admin_client.get(reverse("domains:pci_host_panel", args=[host.code])).content.decode()
    assert "gpu1" in panel  # "Given to"

    # Giving it back to the Dom0 is refused while gpu1's config names it.
    response = admin_client.post(
        reverse("domains:pci_assignable", args=[host.code]), {"bdf": bdf, "action": "remove"}
    )
    assert any("Detach it there first" in str(m) for m in get_messages(response.wsgi_request))
    assert bdf in pci_listing.last_listing(host)["assignable"]


def test_it_detaches_from_a_stopped_domu_and_gives_the_device_back(worker, admin_client, tmp_path):
    host = refreshed_host("xen-pci2", tmp_path)
    sim = SimHost(host.sim_dir)
    bdf = _candidate(_read(admin_client, host))
    assert _assignable(admin_client, host, bdf, "add").status == "succeeded"
    domain = _stopped(admin_client, host, "nic1")
    _post(admin_client, "pci_attach", domain, bdf)

    job = act(admin_client, domain, "start")
    assert job.status == "succeeded", job.error
    domain.refresh_from_db()
    said = _post(admin_client, "pci_detach", domain, bdf)
    assert any("is running" in m for m in said), said  # a running domU keeps its devices

    assert act(admin_client, domain, "destroy").status == "succeeded"
    said = _post(admin_client, "pci_detach", domain, bdf)
    assert any("out of nic1's config" in m for m in said), said
    assert logic.config_pci(cfg.parse(records.current_text(domain))) == []
    job = _assignable(admin_client, host, bdf, "remove")
    assert job.status == "succeeded", job.error
    assert bdf not in parse_pci_assignable_list(sim.run(["xl", "pci-assignable-list"]).stdout)


def test_it_leaves_assignable_devices_to_admins(worker, client, django_user_model, tmp_path):
    ensure_roles()
    host = refreshed_host("xen-pci3", tmp_path)
    operator = django_user_model.objects.create_user("otto", "otto@example.com", "pw-123-abc")
    operator.groups.add(Group.objects.get(name="operator"))
    client.force_login(operator)
    result = _read(client, host)  # operators may read the list
    bdf = _candidate(result)
    response = client.post(
        reverse("domains:pci_assignable", args=[host.code]), {"bdf": bdf, "action": "add"}
    )
    assert response.status_code == 403
    assert not Job.objects.on(host).filter(kind=PCI_ASSIGNABLE).exists()
    panel = client.get(reverse("domains:pci_host_panel", args=[host.code])).content.decode()
    assert "Make assignable" not in panel and "Read PCI devices" in panel
