"""Issue 17, item 1: a preview shows what the form holds, or says it cannot and why.

The new-domU form's xl config preview and the volume form's `zfs create` line, from bound data
with invalid fields, through the real views (a refused POST and the live htmx preview).
"""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.urls import reverse

from hosts.choices import Transport
from hosts.models import Host
from tests.domains.support import form_data


@pytest.fixture
def host(db: None) -> Host:
    # Facts as after a refresh: 2048 MiB free and 2 CPUs, so 4096 MiB and 4 vCPUs are refused.
    return Host.objects.create(
        name="xen1",
        transport=Transport.SIM,
        address="192.0.2.10",
        sim_dir="/nonexistent",
        facts={"free_memory_mib": 2048, "nr_cpus": 2},
    )


def _preview(page: str) -> str:
    start = page.index('data-testid="cfg-preview">') + len('data-testid="cfg-preview">')
    return html.unescape(page[start : page.index("</pre>", start)])


def _post(client: Any, url: str, host: Host, **overrides: Any) -> str:
    response = client.post(url, form_data(host, **overrides))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("url_name", ["domains:new", "domains:preview"])
def test_refused_values_are_shown_as_typed_not_as_the_defaults(
    admin_client,  # type: ignore[no-untyped-def]
    host: Host,
    url_name: str,
) -> None:
    page = _post(admin_client, reverse(url_name), host, name="bad name!", memory_mb=4096, vcpus=4)
    preview = _preview(page)
    assert "memory = 4096" in preview and "vcpus = 4" in preview, preview
    assert "memory = 1024" not in preview and "vcpus = 1\n" not in preview
    assert "Only 2048 MiB of the hypervisor's memory is free on xen1" in html.unescape(page)


@pytest.mark.parametrize("url_name", ["domains:new", "domains:preview"])
def test_a_value_that_cannot_be_read_says_the_config_cannot_be_shown(
    admin_client,  # type: ignore[no-untyped-def]
    host: Host,
    url_name: str,
) -> None:
    preview = _preview(_post(admin_client, reverse(url_name), host, name="web1", memory_mb="4k"))
    assert preview == "# Cannot show the config: Memory (MiB): Must be a whole number.", preview
    preview = _preview(_post(admin_client, reverse(url_name), host, name="web1", vcpus=""))
    assert preview.startswith("# Cannot show the config: vCPUs: This field is required"), preview


def test_a_valid_form_still_previews_every_value(admin_client, host: Host) -> None:  # type: ignore[no-untyped-def]
    page = _post(admin_client, reverse("domains:preview"), host, name="web1", memory_mb=1536)
    preview = _preview(page)
    assert 'name = "web1"' in preview and "memory = 1536" in preview and "vcpus = 1" in preview


def _volume_preview(page: str) -> str:
    start = page.index('id="volume-preview"')
    return html.unescape(page[page.index(">", start) + 1 : page.index("</code>", start)])


def test_the_volume_form_shows_the_typed_size_after_a_refused_post(
    admin_client, host: Host
) -> None:  # type: ignore[no-untyped-def]
    url = reverse("storage:volume_new", args=[host.code])
    fresh = admin_client.get(url).content.decode()
    assert '-V <span data-preview="size">20G</span>' in fresh
    # Refused for its name; the size and the sparse flag the form holds are in the command.
    page = admin_client.post(url, {"name": "bad/name", "size": "1.5", "sparse": "on"})
    assert page.status_code == 200
    line = " ".join(_volume_preview(page.content.decode()).split())
    assert 'zfs create -s -V <span data-preview="size">1536M</span>' in line, line
    assert '<span data-preview="name">bad/name</span>' in line
    # A size that cannot be read is shown as typed, and the page says why.
    page = admin_client.post(url, {"name": "disk1", "size": "12 parsecs"}).content.decode()
    assert '<span data-preview="size">12 parsecs</span>' in _volume_preview(page)
    assert "Cannot show the exact size: Invalid size suffix 'parsecs'" in html.unescape(page)
