"""One lock per target, held in Redis by the job that runs on it (a job may hold several).

The lock value is the job id, so a job redelivered after its worker died takes its own lock back
at once instead of waiting for it to expire.
"""

from __future__ import annotations

from django.conf import settings

from jobs.redis import get_redis

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def _key(target_key: str) -> str:
    return f"xenpanel:lock:{target_key}"


def acquire(target_key: str, job_id: int) -> int | None:
    """Take the lock; return None on success, or the id of the job holding it."""
    r = get_redis()
    ttl = settings.JOB_TIME_LIMIT + 60
    value = str(job_id)
    if r.set(_key(target_key), value, nx=True, ex=ttl):
        return None
    holder = r.get(_key(target_key))
    if holder is None:  # released between our SET and GET: try once more
        return None if r.set(_key(target_key), value, nx=True, ex=ttl) else -1
    holder_id = int(holder)
    return None if holder_id == job_id else holder_id


def release(target_key: str, job_id: int) -> None:
    get_redis().eval(_RELEASE, 1, _key(target_key), str(job_id))


def holder(target_key: str) -> int | None:
    value = get_redis().get(_key(target_key))
    return int(value) if value is not None else None


def acquire_all(keys: list[str], job_id: int) -> tuple[str, int] | None:
    """Take every lock, in sorted order; on the first busy one give back what was taken.

    Return None when all are held, else (the busy key, the id of the job holding it). Sorted
    order means two jobs wanting the same two targets never each hold one and wait on the other.
    """
    taken: list[str] = []
    for key in sorted(set(keys)):
        holder_id = acquire(key, job_id)
        if holder_id is not None:
            for done in taken:
                release(done, job_id)
            return key, holder_id
        taken.append(key)
    return None


def release_all(keys: list[str], job_id: int) -> None:
    for key in keys:
        release(key, job_id)
