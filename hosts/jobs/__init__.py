"""Jobs: create a row in the request, run it in a worker, report progress through the row."""

from hosts.jobs.enqueue import enqueue, request_cancel

__all__ = ["enqueue", "request_cancel"]
