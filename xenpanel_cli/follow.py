"""Follow a job to its end: its Server-Sent Events (`jobs/<code>/events`), or polling its
resource when the stream is not available (an old panel, a proxy that buffers)."""

from __future__ import annotations

import http.client
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from xenpanel_cli.client import CONNECTION_ERRORS, Api, ApiError, error_from
from xenpanel_cli.output import progress_line

FINAL = ("succeeded", "failed", "cancelled")
POLL_SECONDS = 1.0
#: Longer than the panel's 15 s keep-alive comments: a silent stream this long is a dead one.
STREAM_TIMEOUT = 45.0


def parse_events(lines: Iterator[str]) -> Iterator[tuple[str, str, str]]:
    """(event, id, data) for each event of an SSE stream; comments and `retry:` are skipped."""
    name, event_id = "message", ""
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield name, event_id, "\n".join(data)
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            name = value
        elif key == "data":
            data.append(value)
        elif key == "id":
            event_id = value
    if data:
        yield name, event_id, "\n".join(data)


class Follower:
    def __init__(
        self,
        api: Api,
        *,
        stream: IO[str] | None = None,
        quiet: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self.out = stream or sys.stderr
        self.quiet = quiet
        self.sleep = sleep
        self.last_line = ""

    def say(self, line: str) -> None:
        if not self.quiet and line != self.last_line:
            self.last_line = line
            self.out.write(line + "\n")
            self.out.flush()

    def show(self, job: dict[str, Any]) -> None:
        self.say(progress_line(job))

    def follow(self, code: str) -> dict[str, Any]:
        """The job at its final status (events if possible, else polling)."""
        last_id = ""
        for _attempt in range(50):  # a stream lives an hour at most: reconnect, then poll
            try:
                job, last_id = self._stream(code, last_id)
            except (ApiError, ValueError, *CONNECTION_ERRORS) as exc:
                if isinstance(exc, ApiError) and exc.status in (401, 403, 404):
                    raise
                break
            if job is not None:
                return job
        return self._poll(code)

    def _stream(self, code: str, last_id: str) -> tuple[dict[str, Any] | None, str]:
        parts = self.api
        conn_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = conn_class(parts.netloc, timeout=STREAM_TIMEOUT)
        headers = parts.headers({"Accept": "text/event-stream"})
        if last_id:
            headers["Last-Event-ID"] = last_id
        try:
            conn.request("GET", parts.path(f"jobs/{code}/events"), headers=headers)
            reply = conn.getresponse()
            if reply.status >= 400:
                raise error_from(reply.status, reply.read())
            if "text/event-stream" not in (reply.getheader("Content-Type") or ""):
                raise ValueError("not an event stream")
            lines = (raw.decode("utf-8", "replace") for raw in iter(reply.readline, b""))
            for name, event_id, data in parse_events(lines):
                last_id = event_id or last_id
                if name == "gone":
                    raise ApiError(404, "the job no longer exists (deleted with its object)")
                payload = json.loads(data)
                if name == "progress":
                    self.show(payload)
                elif name == "step":
                    self._step(payload)
                elif name == "end":
                    self.show(payload)
                    return payload, last_id
            return None, last_id  # the stream's time was up: reconnect
        finally:
            conn.close()

    def _step(self, step: dict[str, Any]) -> None:
        if step.get("status") == "failed":
            self.say(f"        step {step.get('seq')} failed (exit {step.get('rc')}): "
                     f"{step.get('label')}")  # fmt: skip

    def _poll(self, code: str) -> dict[str, Any]:
        while True:
            job: dict[str, Any] = dict(self.api.get(f"jobs/{code}/"))
            self.show(job)
            if job.get("status") in FINAL:
                return job
            self.sleep(POLL_SECONDS)


def outcome(job: dict[str, Any]) -> tuple[int, str]:
    """The exit status and the last word for a finished job."""
    status = job.get("status")
    title = job.get("title") or job.get("kind") or "job"
    if status == "succeeded":
        return 0, f"{title}: succeeded"
    if status == "cancelled":
        return 1, f"{title}: cancelled" + (f": {job['error']}" if job.get("error") else "")
    why = job.get("error") or job.get("message") or "no reason given"
    return 1, f"{title}: failed: {why}"
