"""Stable MACs: chosen once in Xen's OUI at create, unique across the panel, kept by edits and
restores, shown on the domU page; imported configs keep theirs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from domains import cfg, records
from domains.models import Domain, DomainNic
from hosts.models import Host
from tests.domains.edit_support import save_edit
from tests.domains.support import form_data

MAC_A, MAC_B = "00:16:3e:aa:00:01", "00:16:3e:bb:00:02"


def _domain(host: Host, name: str, owner, *, mac: str | None) -> Domain:
    domain = Domain.objects.create(host=host, name=name, owner=owner, memory_mb=512)
    settings = cfg.Settings(name, 512, 1, None, None, "bridge0", nics=(cfg.Nic("bridge0", mac),))
    records.add_version(domain, cfg.render(cfg.build(settings)), author=owner, note="Created")
    return domain


@pytest.fixture
def host(db) -> Host:
    return Host.objects.create(name="xen-mac", transport="sim", sim_dir="/nonexistent")


def test_the_summary_reads_each_vif_and_normalises_its_mac():
    text = (
        'name = "x"\nmemory = 512\n'
        "vif = ['bridge=bridge0,mac=00:16:3E:AA:00:01', 'bridge=bridge1', 'mac=zz,bridge=b2']\n"
    )
    assert cfg.summary(cfg.parse(text))["nics"] == [
        (0, MAC_A, "bridge0"),
        (1, None, "bridge1"),
        (2, None, "b2"),
    ]


def test_a_new_domu_gets_a_fixed_mac_that_the_preview_showed(admin_client, admin_user, host):
    page = admin_client.get(reverse("domains:new"), {"host": host.code})
    mac = page.context["form"].initial["mac"]
    assert mac.startswith("00:16:3e:") and f"mac={mac}" in page.context["preview"]
    data = form_data(host, "m1", mac=mac, disk="existing", disk_gib="")
    data.pop("volume")
    response = admin_client.post(reverse("domains:preview"), data)
    assert f"mac={mac}" in response.content.decode()


def test_rows_follow_the_config_and_macs_stay_unique(admin_user, host):
    a = _domain(host, "a", admin_user, mac=MAC_A)
    assert list(a.nics.values_list("position", "mac", "bridge")) == [(0, MAC_A, "bridge0")]
    b = _domain(host, "b", admin_user, mac=MAC_A)  # an imported config with a taken MAC
    assert not b.nics.exists()
    assert records.nic_clashes(b, records.current_text(b)) == [MAC_A]


def test_a_restore_that_would_bring_back_a_taken_mac_gets_a_fresh_one(
    admin_client, admin_user, host
):
    a = _domain(host, "a", admin_user, mac=MAC_A)
    assert save_edit(admin_client, a, admin_user, nic0_mac=MAC_B).status_code == 302
    assert a.nics.get().mac == MAC_B
    b = _domain(host, "b", admin_user, mac=MAC_A)  # MAC_A is free again: b takes it
    assert b.nics.get().mac == MAC_A
    response = admin_client.post(reverse("domains:restore", args=[a.code, 1]), follow=True)
    assert "another domU now has" in response.content.decode()
    restored = a.nics.get().mac
    assert restored not in (MAC_A, MAC_B) and restored.startswith("00:16:3e:")
    assert f"mac={restored}" in records.current_text(a)
    assert DomainNic.objects.filter(mac=MAC_A).get().domain == b


def test_the_edit_form_refuses_a_mac_another_domu_holds(admin_client, admin_user, host):
    _domain(host, "a", admin_user, mac=MAC_A)
    b = _domain(host, "b", admin_user, mac=MAC_B)
    response = save_edit(admin_client, b, admin_user, nic0_mac=MAC_A)
    assert response.status_code == 200
    assert "is the MAC of a NIC of a" in response.content.decode()
    response = save_edit(admin_client, b, admin_user, nic0_mac="01:16:3e:00:00:01")
    assert "unicast" in response.content.decode()
    assert b.nics.get().mac == MAC_B


def test_the_domu_page_shows_macs_and_says_when_xl_picks_one(admin_client, admin_user, host):
    a = _domain(host, "a", admin_user, mac=MAC_A)
    page = admin_client.get(a.get_absolute_url()).content.decode()
    assert MAC_A in page and "random at each start" not in page
    imported = _domain(host, "old", admin_user, mac=None)
    page = admin_client.get(imported.get_absolute_url()).content.decode()
    assert "random at each start" in page and "Fix one in the edit page" in page
    # Giving it one in the edit page writes it into the vif.
    assert save_edit(admin_client, imported, admin_user, nic0_mac=MAC_B).status_code == 302
    assert "bridge=bridge0,mac=" + MAC_B in records.current_text(imported)
    assert imported.nics.get().mac == MAC_B
