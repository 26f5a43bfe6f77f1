"""A NUL byte in an API query string is a clear 400, on every database (PostgreSQL text cannot
hold NUL: without the check a search would be a 500)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import tokens

pytestmark = [pytest.mark.django_db, pytest.mark.pg]


def test_a_nul_in_a_search_or_filter_is_refused_with_the_api_error_shape(admin_user) -> None:  # type: ignore[no-untyped-def]
    issued = tokens.issue(admin_user, "nul", scope="read")
    client = Client(headers={"Authorization": f"Bearer {issued.secret}"})
    for url in ("/api/v1/domains/", "/api/v1/volumes/", "/api/v1/isos/", "/api/v1/jobs/"):
        response = client.get(url, {"search": "a\x00b"})
        assert response.status_code == 400, url
        assert response.json() == {
            "detail": "Query parameters may not contain NUL bytes.",
            "code": "invalid",
        }
    assert client.get("/api/v1/domains/", {"search": "ab"}).status_code == 200
