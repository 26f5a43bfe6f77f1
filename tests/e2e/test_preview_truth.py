"""Previews in Chromium after invalid fields and refused submits (issue 17, item 1).

The new-domU page's config preview keeps what the form holds (memory 4096, vCPUs 4 refused for
the host's free memory and CPUs, next to an invalid name); the volume page's `zfs create` line
keeps the typed size after a refused POST. Screenshots at 1440 and 390 px.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hosts.models import Host
from hosts.simhosts import create_sim_host
from tests.e2e.conftest import login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PREVIEW = "[data-testid=cfg-preview]"


def _preview_has(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "t => document.querySelector('[data-testid=cfg-preview]').textContent.includes(t)",
        arg=text,
        timeout=10000,
    )


def _host(tmp_path: Path) -> Host:
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    # As after a refresh of a small Dom0: 2048 MiB free, 2 CPUs.
    Host.objects.filter(pk=host.pk).update(facts={"free_memory_mib": 2048, "nr_cpus": 2})
    host.refresh_from_db()
    return host


def test_the_config_preview_shows_what_the_form_holds(
    page, shot, admin_user, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    host = _host(tmp_path)
    login(page, "root", "pw-root-123")
    page.goto(f"/domains/new/?host={host.code}")
    page.fill("#id_name", "bad name!")
    page.fill("#id_memory_mb", "4096")
    page.fill("#id_vcpus", "4")
    # The live preview first: the refused values are shown, and why they are refused.
    _preview_has(page, "vcpus = 4")
    text = page.inner_text(PREVIEW)
    assert "memory = 4096" in text and "memory = 1024" not in text, text
    assert "Only 2048 MiB" in page.inner_text("#cfg-preview .preview-problems")

    page.click("text=Create and start")
    page.wait_for_load_state()
    assert page.locator(".invalid-feedback").count() >= 3  # name, memory, vCPUs
    text = page.inner_text(PREVIEW)
    assert "memory = 4096" in text and "vcpus = 4" in text, text
    assert page.input_value("#id_memory_mb") == "4096"
    shot("preview-new-domu-refused-1440")
    page.set_viewport_size({"width": 390, "height": 844})
    shot("preview-new-domu-refused-390")
    page.set_viewport_size({"width": 1400, "height": 900})

    # What cannot be shown is said, not replaced by a default (a number field holds no "4k").
    page.fill("#id_memory_mb", "")
    _preview_has(page, "Cannot show the config: Memory (MiB): This field is required.")
    assert "memory =" not in page.inner_text(PREVIEW)


def test_the_volume_preview_keeps_the_typed_size_after_a_refused_post(
    page,
    shot,
    admin_user,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    host = _host(tmp_path)
    login(page, "root", "pw-root-123")
    page.goto(f"/storage/hosts/{host.code}/volumes/new/")
    page.fill("#id_name", "bad/name")
    page.fill("#id_size", "1.5")
    page.check("#id_sparse")
    page.click("button:has-text('Create volume')")
    page.wait_for_load_state()
    assert page.locator(".invalid-feedback").count() >= 1
    line = page.inner_text("#volume-preview")
    assert line.startswith("zfs create -s -V 1536M -o volmode=dev"), line
    shot("preview-volume-refused-1440")
    page.set_viewport_size({"width": 390, "height": 844})
    shot("preview-volume-refused-390")

    page.fill("#id_size", "12 parsecs")
    assert "12 parsecs" in page.inner_text("#volume-preview")
    assert page.locator("[data-preview=size-problem]").is_visible()
    page.fill("#id_size", "30")
    assert "-V 30G" in page.inner_text("#volume-preview")
    assert not page.locator("[data-preview=size-problem]").is_visible()
