"""What every API module shares: pagination, the error shape, and the defaults in settings.

Errors always answer `{"detail": "...", "code": "..."}` (and `"fields": {name: [messages]}` for
invalid input), whatever raised them: DRF's exceptions, Django's Http404/PermissionDenied from
the shared access helpers, or a form's ValidationError passed on by an API module.
"""

from __future__ import annotations

from typing import Any

from rest_framework import pagination, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


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
        response.data = {"detail": detail, "code": "invalid", "fields": data}
        return response
    if isinstance(data, dict) and "detail" in data:
        code = getattr(data["detail"], "code", None) or getattr(exc, "default_code", "error")
        response.data = {"detail": str(data["detail"]), "code": str(code)}
    elif isinstance(data, list):
        response.data = {"detail": " ".join(str(d) for d in data), "code": "invalid"}
    return response
