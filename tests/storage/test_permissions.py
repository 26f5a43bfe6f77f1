"""Who may do what with volumes, images and uploads: viewers get 403 on writes, strangers 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from storage.models import IsoImage, UploadSession, Volume

pytestmark = pytest.mark.django_db


@pytest.fixture
def volume(sim_host, operator) -> Volume:
    return Volume.objects.create(
        host=sim_host, dataset="zroot/xen/mine0", size_bytes=2**30, state="ready", owner=operator
    )


@pytest.fixture
def iso(sim_host, operator) -> IsoImage:
    return IsoImage.objects.create(
        host=sim_host, file_name="mine.iso", source="url", state="ready", owner=operator
    )


def test_it_forbids_viewers_to_change_storage(viewer_client, sim_host):
    code = sim_host.code
    posts = [
        (reverse("storage:volume_new", args=[code]), {"name": "v0", "size": "1G"}),
        (reverse("storage:volumes_scan", args=[code]), {}),
        (reverse("storage:volume_import", args=[code]), {"dataset": "zroot/xen/legacy0"}),
        (reverse("isos:fetch"), {"host": sim_host.pk, "url": "https://example.org/a.iso"}),
        (reverse("isos:upload_create"), {"host": sim_host.pk, "file_name": "a.iso", "size": 1}),
        (reverse("isos:upload"), {"host": sim_host.pk, "file_name": "a.iso"}),
    ]
    for url, data in posts:
        assert viewer_client.post(url, data).status_code == 403, url
    page = viewer_client.get(sim_host.get_absolute_url()).content.decode()
    assert "New volume" not in page and "Fetch from URL" not in page


def test_it_hides_other_peoples_volumes_and_images(stranger_client, volume, iso):
    for url in [
        volume.get_absolute_url(),
        iso.get_absolute_url(),
    ]:
        assert stranger_client.get(url).status_code == 404
    assert (
        stranger_client.post(
            reverse("storage:volume_destroy", args=[volume.code]), {"confirm": "mine0"}
        ).status_code
        == 404
    )
    for name in ("isos:delete", "isos:cancel"):
        assert stranger_client.post(reverse(name, args=[iso.code])).status_code == 404
    listing = stranger_client.get(reverse("isos:list")).content.decode()
    assert "mine.iso" not in listing


def test_it_hides_other_peoples_uploads(stranger_client, iso, operator):
    session = UploadSession.objects.create(
        owner=operator, iso=iso, file_name="mine.iso", size_bytes=10
    )
    url = reverse("isos:upload_chunk", args=[session.code])
    assert stranger_client.get(url).status_code == 404
    assert (
        stranger_client.put(url, b"x", content_type="application/octet-stream").status_code == 404
    )


def test_it_lets_viewers_read_their_teams_objects(viewer_client, volume, iso, django_user_model):
    from django.contrib.auth.models import Group

    team = Group.objects.create(name="lab")
    viewer = django_user_model.objects.get(username="vera")
    viewer.groups.add(team)
    Volume.objects.filter(pk=volume.pk).update(team=team)
    assert viewer_client.get(volume.get_absolute_url()).status_code == 200
    assert (
        viewer_client.post(
            reverse("storage:volume_destroy", args=[volume.code]), {"confirm": "mine0"}
        ).status_code
        == 403
    )


def test_it_renders_the_storage_pages(operator_client, sim_host, volume, iso):
    for url in [
        reverse("isos:list"),
        reverse("isos:fetch") + f"?host={sim_host.code}",
        reverse("isos:upload"),
        reverse("storage:volume_new", args=[sim_host.code]),
        volume.get_absolute_url(),
        iso.get_absolute_url(),
        sim_host.get_absolute_url(),
        reverse("storage:host", args=[sim_host.code]),
    ]:
        response = operator_client.get(url)
        assert response.status_code == 200, url
        assert 'data-active="1"' not in response.content.decode()  # nothing running: no polling


def test_it_counts_a_domus_extra_disk_as_in_use(operator, sim_host, volume):
    from django.apps import apps

    from storage.jobs.volumes import volume_in_use

    domain = apps.get_model("domains", "Domain").objects.create(
        host=sim_host, name="db1", memory_mb=512, owner=operator
    )
    domain.extra_volumes.add(volume)
    assert "db1" in volume_in_use(volume)


def test_it_refuses_to_delete_what_a_domu_uses(operator_client, operator, sim_host, volume, iso):
    from django.apps import apps

    from storage.jobs.isos import iso_in_use
    from storage.jobs.volumes import volume_in_use

    assert volume_in_use(volume) is None and iso_in_use(iso) is None
    domain = apps.get_model("domains", "Domain")
    domain.objects.create(
        host=sim_host, name="web1", memory_mb=512, volume=volume, iso=iso, owner=operator
    )
    assert "web1" in volume_in_use(volume) and "web1" in iso_in_use(iso)
    page = operator_client.post(
        reverse("isos:delete", args=[iso.code]), {"confirm": "mine.iso"}, follow=True
    ).content.decode()
    assert "cannot be deleted: the domU web1 has it attached" in page
    assert "cannot be destroyed" in operator_client.get(volume.get_absolute_url()).content.decode()
