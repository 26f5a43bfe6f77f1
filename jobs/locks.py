"""One lock per target, held in Redis by the job that runs on it (a job may hold several).

The lock value is the job id, so a job redelivered after its worker died takes its own lock back
at once instead of waiting for it to expire. A lock is a lease: it lapses JOB_LEASE_SECONDS after
its job's worker last renewed it (`renew`, from the heartbeat), so a dead worker's locks free
their targets within the lease, not after the longest job's time limit. Every job keeps the set
of keys it holds, so the heartbeat renews locks a job took while it ran (autostart takes each
domU's lock in turn) as well as its targets'.
"""

from __future__ import annotations

from django.conf import settings

from jobs.redis import get_redis

_RELEASE = """
redis.call('srem', KEYS[2], KEYS[1])
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
local renewed = 0
for _, key in ipairs(redis.call('smembers', KEYS[1])) do
  if redis.call('get', key) == ARGV[1] then
    redis.call('pexpire', key, ARGV[2])
    renewed = renewed + 1
  else
    redis.call('srem', KEYS[1], key)
  end
end
redis.call('pexpire', KEYS[1], ARGV[2])
return renewed
"""


def _key(target_key: str) -> str:
    return f"xenpanel:lock:{target_key}"


def _held(job_id: int) -> str:
    return f"xenpanel:job-locks:{job_id}"


def _ttl_ms() -> int:
    return int(settings.JOB_LEASE_SECONDS * 1000)


def acquire(target_key: str, job_id: int) -> int | None:
    """Take the lock; return None on success, or the id of the job holding it."""
    r = get_redis()
    key, value, ttl = _key(target_key), str(job_id), _ttl_ms()
    taken = bool(r.set(key, value, nx=True, px=ttl))
    if not taken:
        holder_value = r.get(key)
        if holder_value is None:  # released between our SET and GET: try once more
            taken = bool(r.set(key, value, nx=True, px=ttl))
            if not taken:
                return -1
        elif int(holder_value) != job_id:
            return int(holder_value)
        else:
            r.pexpire(key, ttl)  # our own lock, from before a worker died: take it back
    pipe = r.pipeline()
    pipe.sadd(_held(job_id), key)
    pipe.pexpire(_held(job_id), ttl)
    pipe.execute()
    return None


def release(target_key: str, job_id: int) -> None:
    get_redis().eval(_RELEASE, 2, _key(target_key), _held(job_id), str(job_id))


def renew(job_id: int) -> int:
    """Extend every lock the job still holds by a lease; return how many it holds."""
    return int(get_redis().eval(_RENEW, 1, _held(job_id), str(job_id), str(_ttl_ms())))


_WAIT = """
local current = redis.call('get', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2])
  return 1
end
return 0
"""


def wait_in_line(job_id: int, task_id: str) -> bool:
    """Return True if this message (`task_id`) is the one that waits for the job's targets.

    A job can have more than one message (a sweep re-sent it, a redelivery); only one of them
    retries while a target is busy, the others end. The mark lapses when its retries stop.
    """
    ttl = int(max(3 * settings.JOB_LOCK_RETRY_SECONDS, 2) * 1000) + 5000
    return bool(get_redis().eval(_WAIT, 1, f"xenpanel:waiter:{job_id}", task_id, str(ttl)))


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
