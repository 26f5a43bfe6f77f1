"""storage.flows: the page and the API refuse a destroy or a delete with the same sentence (the
page as an error message, the API as 409), from one copy of each rule."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from hosts.models import Host
from jobs.enqueue import request_cancel
from jobs.models import Job
from storage import flows
from storage.jobs import isos as iso_jobs
from storage.jobs import volumes as volume_jobs
from storage.models import IsoImage, Volume

# No commit: no worker takes a queued job, so it stays queued (active) or is cancelled unstarted.
pytestmark = pytest.mark.django_db


def _api_delete(client: Client, name: str, code: Any, typed: str) -> Any:
    return client.delete(
        reverse(name, args=[code]), {"confirm": typed}, content_type="application/json"
    )


def test_a_volume_never_made_is_refused_alike_by_page_and_api(
    operator_client: Client, sim_host: Host, operator: Any
) -> None:
    with transaction.atomic():
        volume = Volume.objects.create(
            host=sim_host, dataset="zroot/xen/soon0", size_bytes=2**30, owner=operator
        )
        job = volume_jobs.queue_create(volume, operator)
    assert request_cancel(job)  # cancelled while queued: nothing was made on the host
    said = (
        "zroot/xen/soon0 was never made on xen1: there is nothing to destroy. Remove it from the "
        "panel instead."
    )
    page = operator_client.post(
        reverse("storage:volume_destroy", args=[volume.code]), {"confirm": "soon0"}, follow=True
    )
    assert said in page.content.decode()
    api = _api_delete(operator_client, "api:volume", volume.code, "soon0")
    assert api.status_code == 409
    assert api.json() == {"detail": said, "code": "conflict"}
    wrong = _api_delete(operator_client, "api:volume", volume.code, "other")
    assert wrong.status_code == 400  # the typed name comes first, as on the page
    assert not Job.objects.filter(kind=volume_jobs.DESTROY).exists()


def test_an_iso_a_job_works_on_is_refused_alike_by_page_and_api(
    operator_client: Client, sim_host: Host, operator: Any
) -> None:
    with transaction.atomic():
        iso = IsoImage.objects.create(
            host=sim_host,
            file_name="soon.iso",
            owner=operator,
            source=IsoImage.Source.URL,
            state=IsoImage.State.PENDING,
        )
        iso_jobs.queue_fetch(
            iso, "https://example.org/soon.iso", allow_private=False, user=operator
        )
    page = operator_client.post(
        reverse("isos:delete", args=[iso.code]), {"confirm": "soon.iso"}, follow=True
    )
    assert flows.ISO_BUSY in page.content.decode()
    api = _api_delete(operator_client, "api:iso", iso.code, "soon.iso")
    assert api.status_code == 409
    assert api.json() == {"detail": flows.ISO_BUSY, "code": "conflict"}
    assert IsoImage.objects.filter(pk=iso.pk).exists()
    assert not Job.objects.filter(kind=iso_jobs.DELETE).exists()
