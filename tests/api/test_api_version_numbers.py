"""A version number past 64 bits is an unknown version (404), or for `?diff=` invalid input
(400) — never a database overflow (500)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.api.test_api_matrix import OWNER, client_for
from tests.support.roles import roles  # noqa: F401  (fixture)
from tests.test_permission_matrix import World, world  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]

HUGE = 2**63


def test_a_huge_version_number_is_not_found(world: World) -> None:  # noqa: F811
    api = client_for(world, OWNER)
    code = world.domain.code
    for number in (HUGE, 10**30):
        answer = api.get(reverse("api:domain-version", args=[code, number]))
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
        answer = api.post(reverse("api:domain-restore", args=[code, number]))
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert api.get(reverse("api:domain-version", args=[code, 1])).status_code == 200


def test_a_huge_diff_number_is_invalid_input(world: World) -> None:  # noqa: F811
    api = client_for(world, OWNER)
    url = reverse("api:domain-version", args=[world.domain.code, 1])
    for other in (str(HUGE), str(-(2**63) - 1)):
        answer = api.get(url, {"diff": other})
        assert answer.status_code == 400, other
        assert "diff" in answer.json()["fields"]
    assert api.get(url, {"diff": "2"}).status_code == 404  # a fitting number: just no such version
    assert api.get(url, {"diff": "1"}).json()["diff"] == ""
