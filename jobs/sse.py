"""A job's progress as Server-Sent Events (`GET /api/v1/jobs/<code>/events`).

The stream polls the job row (the truth about a job, written by its worker) every half second and
sends what changed:

- `event: progress` — the job (JobSerializer JSON) when its status, progress or message changed;
  the first event of every stream, so a client that (re)connects starts from the current state;
- `event: step` — a step (JobStepSerializer JSON) when it starts, and again when it ends (with
  its exit code and seconds);
- `event: end` — the job once it reached a final status; then the stream closes;
- a comment line (`: keep-alive`) after 15 s without an event, so proxies keep the connection.

Every event's `id` is the highest step number sent so far: a client that reconnects with
`Last-Event-ID: <n>` (EventSource does that by itself) is sent the steps after `n` only.

Cost: an open stream holds one web worker for its whole life (and a database connection). Under
gunicorn's sync workers that is a whole worker process per stream, so a few browser tabs would
stall the panel; the deployment runs gthread (2 workers x 8 threads, see Procfile and deploy/), so
each stream holds a thread instead, and 16 streams still fill the server. Hence a stream's life is
bounded (5 minutes by default, `?max_seconds=` for up to an hour): the client reconnects with
Last-Event-ID. And one user holds at most STREAMS_PER_USER streams at once (`open_slot`, a sorted
set in Redis, one member per open stream, each with its own deadline): a fifth is refused (429)
so one script or a handful of tabs cannot take every thread from everyone else.
Should the database drop the stream's connection meanwhile, the next poll raises and the stream
ends early; the client reconnects the same way.
Pages keep polling their small progress partial; streams are for scripts and the CLI.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job, JobStep
from jobs.redis import get_redis

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
#: How long a stream stays open unless the client asks for another life (`?max_seconds=`).
DEFAULT_SECONDS = 300
#: The longest a stream stays open before the client must reconnect.
MAX_SECONDS = 3600
#: Streams one user may hold open at once.
STREAMS_PER_USER = 4
#: A slot outlives its stream's own deadline by this much (a slow client still reading the last
#: events); then it lapses by itself, so a worker killed mid-stream leaks nothing for long.
SLOT_GRACE_SECONDS = 60
#: The client's wait before it reconnects after the stream closed or dropped (milliseconds).
RETRY_MS = 2000


def event(name: str, data: dict[str, Any], event_id: int | None = None) -> str:
    """One SSE event: JSON data on one line (JSON escapes newlines, so one `data:` line)."""
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), default=str))
    return "\n".join(lines) + "\n\n"


def last_event_id(header: str | None) -> int:
    """The step number a reconnecting client saw last (0: none, or a header we did not send)."""
    try:
        return max(0, int(header or "0"))
    except ValueError:
        return 0


def job_events(
    job_pk: int,
    *,
    job_json: Callable[[Job], dict[str, Any]],
    step_json: Callable[[JobStep], dict[str, Any]],
    after_step: int = 0,
    max_seconds: float = MAX_SECONDS,
    poll: float = POLL_SECONDS,
    heartbeat: float = HEARTBEAT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """Yield the events of job `job_pk` until it ends, disappears, or `max_seconds` pass.

    The serializers come from the caller (the API module) so that this module needs no DRF.
    """
    yield f"retry: {RETRY_MS}\n\n"
    started = clock()
    last_sent = started
    last_state: tuple[str, int, str] | None = None
    step_status: dict[int, str] = {}
    last_seq = after_step
    while True:
        job = Job.objects.select_related("requested_by").filter(pk=job_pk).first()
        if job is None:  # deleted while followed (with its object): nothing more will come
            yield event("gone", {"detail": "The job no longer exists."}, last_seq)
            return
        out: list[str] = []
        for step in job.steps.filter(seq__gt=after_step).order_by("seq"):
            if step_status.get(step.seq) != step.status:
                step_status[step.seq] = step.status
                last_seq = max(last_seq, step.seq)
                out.append(event("step", step_json(step), last_seq))
        state = (job.status, job.progress, job.message)
        if state != last_state:
            last_state = state
            # Progress after the steps: a client that shows both sees the step the message names.
            out.append(event("progress", job_json(job), last_seq))
        if job.status not in ACTIVE_JOB_STATUSES:
            out.append(event("end", job_json(job), last_seq))
            yield "".join(out)
            return
        now = clock()
        if out:
            last_sent = now
            yield "".join(out)
        elif now - last_sent >= heartbeat:
            last_sent = now
            yield ": keep-alive\n\n"
        if now - started >= max_seconds:
            yield ": the stream's time is up; reconnect with Last-Event-ID to follow on\n\n"
            return
        sleep(poll)


# --- how many streams one user holds ---------------------------------------------------------
# Drop the lapsed slots, count the rest, add one if there is room (atomic: two requests at once
# cannot both take the last slot).
_TAKE = """
redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1])
if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('zadd', KEYS[1], ARGV[3], ARGV[4])
redis.call('expire', KEYS[1], ARGV[5])
return 1
"""


def _slots_key(user_id: int) -> str:
    return f"xenpanel:sse-streams:{user_id}"


def open_slot(user_id: int, seconds: float, limit: int = STREAMS_PER_USER) -> str | None:
    """Take one of the user's stream slots for `seconds` (plus grace); return its id to give back
    with `close_slot`, or None when the user already holds `limit` streams.

    Without Redis the stream is allowed (logged): the cap protects the server, it is not a rule
    a client could rely on, and refusing every stream while Redis restarts would help no one.
    """
    slot = uuid.uuid4().hex
    now = time.time()
    life = int(seconds) + SLOT_GRACE_SECONDS
    try:
        taken = get_redis().eval(
            _TAKE, 1, _slots_key(user_id), str(now), str(limit), str(now + life), slot, str(life)
        )
    except Exception:
        log.warning("counting the event streams of user %s failed", user_id, exc_info=True)
        return slot
    return slot if taken else None


def close_slot(user_id: int, slot: str) -> None:
    try:
        get_redis().zrem(_slots_key(user_id), slot)
    except Exception:  # it lapses at its deadline anyway
        log.warning("freeing an event stream slot of user %s failed", user_id, exc_info=True)


class Counted:
    """A stream that gives its slot back when the response is closed.

    Django calls `close()` of the response's content when the server is done with it (the
    client read to the end, or went away) — also if the generator never started, where a
    `finally` in the generator would not run.
    """

    def __init__(self, stream: Iterator[str], user_id: int, slot: str) -> None:
        self._stream, self._user_id, self._slot = stream, user_id, slot
        self._closed = False

    def __iter__(self) -> Iterator[str]:
        return self._stream

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()
        close_slot(self._user_id, self._slot)
