"""One Redis lock per periodic job of the monitoring room (alert evaluation, sample upkeep), so
two workers (or a beat run and a host poll) never do the same work at once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

log = logging.getLogger(__name__)


@contextmanager
def held(name: str, *, timeout: int, wait: float | None) -> Iterator[bool]:
    """Hold `xenpanel:<name>` for at most `timeout` s; yield whether it was taken.

    `wait` is how long to wait for it (None: not at all, skip at once). Without Redis the
    work goes on unlocked (True): a missed run is worse than the rare overlap.
    """
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        lock = client.lock(f"xenpanel:{name}", timeout=timeout, blocking_timeout=wait)
        taken = bool(lock.acquire(blocking=wait is not None))
    except redis.RedisError as exc:
        log.warning("%s: going on without the lock (%s)", name, exc)
        yield True
        return
    try:
        yield taken
    finally:
        if taken:
            try:
                lock.release()
            except redis.RedisError:
                pass  # expired: the next run takes it again
