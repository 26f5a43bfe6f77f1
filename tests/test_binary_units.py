"""Issue 17 item 4: sizes in binary units (MiB, GiB) everywhere, through one filter.

The pages are rendered from a real create on the simulator; no page may write a power-of-1024
quantity as KB/MB/GB/TB (which people read as powers of 1000).
"""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.urls import reverse

from dom0.units import binary_size, mib_size
from tests.domains.support import create_via_form, poll, put_iso

DECIMAL_UNIT = re.compile(r"\b\d+(?:\.\d+)?\s?[KMGTP]B\b")


@pytest.mark.parametrize(
    ("nbytes", "shown"),
    [
        (None, "—"),
        (0, "0 bytes"),
        (1000, "1000 bytes"),
        (64 << 20, "64 MiB"),
        (512 << 20, "512 MiB"),
        (2 << 30, "2 GiB"),
        (3 << 29, "1.5 GiB"),
        ((1 << 30) - 100, "1.0 GiB"),  # not "1024.0 MiB"
        (20 << 40, "20 TiB"),
    ],
)
def test_binary_size(nbytes: int | None, shown: str) -> None:
    assert binary_size(nbytes) == shown


def test_mib_size_and_the_filters() -> None:
    assert [mib_size(m) for m in (512, 2048, 1536, 0, None)] == [
        "512 MiB",
        "2 GiB",
        "1.5 GiB",
        "0 MiB",
        "—",
    ]
    text = Template("{% load units %}{{ m|mib }} · {{ b|bytes }}").render(
        Context({"m": 4096, "b": 64 << 20})
    )
    assert text == "4 GiB · 64 MiB"


def test_forms_label_memory_in_mib() -> None:
    from domains.forms import DomainForm
    from storage.forms import VolumeForm

    assert DomainForm.base_fields["memory_mb"].label == "Memory (MiB)"
    assert "(GiB)" in str(VolumeForm.base_fields["size"].label)


@pytest.mark.django_db(transaction=True)
def test_no_page_writes_a_binary_size_in_decimal_units(worker, admin_client, tmp_path):
    from hosts.simhosts import create_sim_host

    host = create_sim_host("units1", state_dir=tmp_path / "units1")
    poll(host, full=True)
    iso = put_iso(host)
    domain, job = create_via_form(admin_client, host, "web1", memory_mb=512, disk_gib=2)
    assert job.status == "succeeded", job.error
    poll(host, full=True)
    domain.refresh_from_db()
    pages = {
        "dashboard": reverse("dashboard"),
        "domU list": reverse("domains:list"),
        "domU page": domain.get_absolute_url(),
        "new domU": reverse("domains:new"),
        "hosts": reverse("hosts:list"),
        "host page": host.get_absolute_url(),
        "storage": reverse("storage:index"),
        "volume": domain.volume.get_absolute_url(),
        "ISOs": reverse("isos:list"),
        "ISO": iso.get_absolute_url(),
        "ISO upload": reverse("isos:upload"),
    }
    shown = {}
    for name, url in pages.items():
        response = admin_client.get(url)
        assert response.status_code == 200, name
        html = response.content.decode()
        assert not DECIMAL_UNIT.findall(html), f"{name}: {DECIMAL_UNIT.findall(html)}"
        shown[name] = html
    assert "512 MiB" in shown["domU list"] and "512 MiB" in shown["dashboard"]
    assert "(2 GiB, ready)" in shown["domU page"]
    assert "Memory (MiB)" in shown["new domU"]
    assert ">2 GiB<" in shown["storage"]
    assert "chunks of " in shown["ISO upload"] and "MiB" in shown["ISO upload"]
