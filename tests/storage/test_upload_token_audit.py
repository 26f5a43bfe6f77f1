"""A tus upload made with a token is audited once (its creation), not once per PATCH chunk."""

from __future__ import annotations

import base64

import pytest
from django.test import Client
from django.urls import reverse

from accounts import tokens
from accounts.models import ApiToken, AuditAction, AuditEntry
from tests.storage.conftest import iso_bytes

pytestmark = pytest.mark.django_db

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 2**16
ISO = iso_bytes(8 * CHUNK, seed=5)


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def test_the_chunks_of_a_token_upload_are_not_audited_one_by_one(admin_user, sim_host) -> None:  # type: ignore[no-untyped-def]
    secret = tokens.issue(admin_user, "uploader", scope=ApiToken.Scope.WRITE).secret
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    created = api.post(
        reverse("api:uploads"),
        headers={**TUS, "Upload-Length": str(len(ISO)),
                 "Upload-Metadata": _meta(filename="t.iso", host=str(sim_host.code))},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    url = created["Location"]
    for offset in range(0, 4 * CHUNK, CHUNK):  # half of it: the upload stays open (no job)
        sent = api.patch(url, data=ISO[offset : offset + CHUNK],
                         content_type="application/offset+octet-stream",
                         headers={**TUS, "Upload-Offset": str(offset)})  # fmt: skip
        assert sent.status_code == 204, sent.content
    assert api.head(url, headers=TUS)["Upload-Offset"] == str(4 * CHUNK)
    uses = AuditEntry.objects.filter(action=AuditAction.TOKEN_USE)
    assert [e.details["method"] for e in uses] == ["POST"]  # the creation, on record once
    assert api.delete(url, headers=TUS).status_code == 204  # aborting it is a write of note
    assert [e.details["method"] for e in uses.order_by("id")] == ["POST", "DELETE"]
