"""Logging filters the LOGGING setting names."""

from __future__ import annotations

import logging


class NoTracebackBelow500(logging.Filter):
    """Keep `django.request`'s 4xx lines, drop their tracebacks.

    Django logs a refused request (PermissionDenied: 403, Http404: 404) with the exception
    attached, so every 403 wrote a full traceback although nothing went wrong. The one line
    ("Forbidden (Permission denied): /audit/") says all there is; 5xx records keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
