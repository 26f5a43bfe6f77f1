"""The API's shared base without a server: the error shape's `fields`, the errors every operation
documents, and the JSON 404 under /api/ (found by tests/api/test_schemathesis.py)."""

from __future__ import annotations

import json

from django.http import Http404
from django.test import RequestFactory

from accounts.api_base import _messages, document_errors, page_not_found


def test_field_errors_are_flat_lists_of_strings_whatever_a_view_raised() -> None:
    # A form's get_json_data() (what a view may pass on) and a nested serializer's errors.
    assert _messages([{"message": "Choose a day after today.", "code": ""}]) == [
        "Choose a day after today."
    ]
    assert _messages([{"mac": ["Enter a MAC address."]}, {}]) == ["mac: Enter a MAC address."]
    assert _messages("Required.") == ["Required."]


def test_every_operation_documents_the_errors_it_can_answer() -> None:
    schema = {
        "paths": {
            "/api/v1/hosts/": {
                "get": {"parameters": [{"in": "query", "name": "status"}], "responses": {}},
                "post": {"requestBody": {}, "responses": {"400": {"description": "mine"}}},
            },
            "/api/v1/hosts/{code}/": {"get": {"responses": {}}, "parameters": []},
        }
    }
    out = document_errors(schema)
    hosts = out["paths"]["/api/v1/hosts/"]
    assert set(hosts["get"]["responses"]) == {"400", "401"}
    assert set(hosts["post"]["responses"]) == {"400", "401", "403"}
    assert hosts["post"]["responses"]["400"] == {"description": "mine"}  # a view's own is kept
    assert set(out["paths"]["/api/v1/hosts/{code}/"]["get"]["responses"]) == {"401", "404"}
    assert "ApiError" in out["components"]["schemas"]


def test_a_path_no_api_route_takes_answers_json_and_pages_keep_their_html() -> None:
    factory = RequestFactory()
    response = page_not_found(factory.get("/api/v1/hosts/not-a-uuid/"), Http404())
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["code"] == "not_found"
    page = page_not_found(factory.get("/hosts/nothing/"), Http404())
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
