"""The plain upload form (no JavaScript): exactly one ISO file, and no stray file left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from hosts.models import Host
from storage.models import IsoImage, UploadSession
from tests.storage.conftest import iso_bytes

pytestmark = pytest.mark.django_db

ISO = iso_bytes(200_000, seed=5)


def _form_post(client, host: Host, files: dict) -> object:  # type: ignore[no-untyped-def]
    return client.post(reverse("isos:upload"), {"host": host.pk, "file_name": "form.iso", **files})


def _left_in_upload_dir(settings) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(os.listdir(settings.UPLOAD_DIR)) if Path(settings.UPLOAD_DIR).exists() else []


def _iso_file(name: str = "a.iso") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ISO, content_type="application/octet-stream")


@pytest.mark.parametrize(
    "files",
    [
        lambda: {"junk": SimpleUploadedFile("j.bin", b"A" * 1000), "file": _iso_file()},
        lambda: {"file": _iso_file(), "junk": SimpleUploadedFile("j.bin", b"A" * 1000)},
        lambda: {"file": [_iso_file(), _iso_file("b.iso")]},
    ],
    ids=["extra field first", "extra field after", "two files"],
)
def test_it_refuses_extra_files_in_the_plain_form_and_keeps_none(
    files, operator_client, sim_host, settings
):
    response = _form_post(operator_client, sim_host, files())
    assert response.status_code == 200
    assert b"one ISO file" in response.content
    assert _left_in_upload_dir(settings) == []
    assert not IsoImage.objects.filter(file_name="form.iso").exists()


def test_it_still_takes_one_file_from_the_plain_form(operator_client, sim_host, settings):
    response = _form_post(operator_client, sim_host, {"file": _iso_file()})
    assert response.status_code == 302
    session = UploadSession.objects.get(iso__file_name="form.iso")
    assert _left_in_upload_dir(settings) == [session.local_path.name]
    assert session.local_path.read_bytes() == ISO
