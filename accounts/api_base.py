"""What every API module shares: pagination, the error shape, and the defaults in settings.

Errors always answer `{"detail": "...", "code": "..."}` (and `"fields": {name: [messages]}` for
invalid input), whatever raised them: DRF's exceptions, Django's Http404/PermissionDenied from
the shared access helpers, or a form's ValidationError passed on by an API module.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import pagination, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

#: Methods that change nothing: a read token may send them, and they take no body.
SAFE_METHODS = ("get", "head", "options")


class LimitOffset(pagination.LimitOffsetPagination):
    """`?limit=&offset=`; at most 200 rows a page, 50 by default."""

    default_limit = 50
    max_limit = 200


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, then one shape: detail + code (+ fields for validation errors)."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if (
        response.status_code == status.HTTP_400_BAD_REQUEST
        and isinstance(data, dict)
        and ("detail" not in data)
    ):
        detail = "Invalid input: see fields."
        fields = {str(name): _messages(value) for name, value in data.items()}
        response.data = {"detail": detail, "code": "invalid", "fields": fields}
        return response
    if isinstance(data, dict) and "detail" in data:
        code = getattr(data["detail"], "code", None) or getattr(exc, "default_code", "error")
        response.data = {"detail": str(data["detail"]), "code": str(code)}
    elif isinstance(data, list):
        response.data = {"detail": " ".join(str(d) for d in data), "code": "invalid"}
    return response


def _messages(value: Any) -> list[str]:
    """A field's errors as the schema documents them: a flat list of strings, whatever a view
    raised (a form's `get_json_data()` gives `{"message", "code"}` dicts, a nested serializer
    a dict per item)."""
    if isinstance(value, list | tuple):
        return [text for item in value for text in _messages(item)]
    if isinstance(value, dict):
        if "message" in value:
            return [str(value["message"])]
        return [f"{key}: {text}" for key, item in value.items() for text in _messages(item)]
    return [str(value)]


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 handler (`handler404` in xenpanel.urls): under /api/ a path no route takes
    (`/api/v1/hosts/not-a-uuid/`) answers the API's JSON error, not the panel's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "detail": f"No API route at {request.path}: see /api/v1/schema/.",
                "code": "not_found",
            },
            status=status.HTTP_404_NOT_FOUND,
        )
    return defaults.page_not_found(request, exception)


class ApiErrorSerializer(serializers.Serializer):
    """The one error shape (`handle_exception`): component "ApiError" in the schema. Rooms
    document their errors with it (`extend_schema(responses={409: ApiErrorSerializer})`)."""

    detail = serializers.CharField(help_text="What went wrong, and what to do next.")
    code = serializers.CharField(help_text="A stable word for the kind of error.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For invalid input: each field's messages (`__all__` for the whole form).",
    )


#: What the answers `document_errors` adds mean, whatever the operation.
GENERIC_ERRORS = {
    "400": "Invalid input (a body field or a query filter): `fields` says which and why.",
    "401": "No credentials, or an invalid, revoked or expired token.",
    "403": "Your role, or the token's scope (read), does not allow this.",
    "404": "No such object, or you may not see it.",
}


def document_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the errors any operation can answer, whatever its
    view documents — 401 on every one (no anonymous API), 403 on every write (a read token),
    404 where the path names an object, 400 where a body or a query filter is validated (an
    invalid django-filter value is a 400). Codes an operation documents itself are kept."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ApiError", _error_component())
    ref = {"$ref": "#/components/schemas/ApiError"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            params = operation.get("parameters", [])
            codes = ["401"]
            if method not in SAFE_METHODS:
                codes.append("403")
            if "{" in path:
                codes.append("404")
            if "requestBody" in operation or any(p.get("in") == "query" for p in params):
                codes.append("400")
            for code in codes:
                operation["responses"].setdefault(
                    code,
                    {
                        "description": GENERIC_ERRORS[code],
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    return result


def _error_component() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "The one error shape of the API.",
        "properties": {
            "detail": {"type": "string", "description": "What went wrong, and what to do next."},
            "code": {"type": "string", "description": "A stable word for the kind of error."},
            "fields": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "description": "For invalid input: each field's messages.",
            },
        },
        "required": ["detail", "code"],
    }
