"""Stream an uploaded ISO from the panel's machine to a worker on a Dom0, through Redis.

A browser upload lands in UPLOAD_DIR of the machine that serves the panel; the central worker
pool runs beside it and copies the file to hosts it can reach (SSH, the simulator). A *Local*
host with its own queue (a worker on the Dom0, README topology 2) cannot be reached from there,
so its own worker runs the copy job and pulls the bytes:

- the job (on the Dom0) sends `storage.tasks.send_upload` to the central pool's queue and reads
  what it pushes onto a Redis list, into a staging file in its own UPLOAD_DIR, hashing as it
  goes; then it copies that file into the ISO directory as for any other upload;
- the sender reads the file and pushes blocks, never more than WINDOW of them ahead of the
  reader, so Redis holds a few MiB at a time. It stops when the reader says so or goes quiet.

Every message on the list is a tag byte and a payload: D (data), E (an error, UTF-8 text) or
Z (the end; the payload is the number of bytes sent). A control hash beside the list carries
the reader's heartbeat and its "stop".
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from dom0.units import human_bytes
from jobs.context import StepFailed
from jobs.redis import get_redis
from storage.models import UploadSession

if TYPE_CHECKING:
    from jobs.context import JobContext

log = logging.getLogger(__name__)

BLOCK = 1024 * 1024
#: Blocks the sender may push ahead of the reader.
WINDOW = 8
#: Seconds either side waits for the other before it gives up.
IDLE_SECONDS = 120.0
#: How long the keys live if both sides vanish.
KEY_TTL = 3600
DATA, ERROR, END = b"D", b"E", b"Z"


def relay_key(upload: UploadSession, job_id: int, attempt: int) -> str:
    return f"xenpanel:iso-relay:{upload.code}:{job_id}:{attempt}"


def relay_staging(upload: UploadSession) -> Path:
    """Where the Dom0's worker keeps the bytes it receives (its own UPLOAD_DIR)."""
    return Path(settings.UPLOAD_DIR) / f"{upload.code}.relay.part"


# --- the Dom0 side: inside the upload job ------------------------------------------------------
def receive_upload(ctx: JobContext, upload: UploadSession, *, span: tuple[int, int]) -> Path:
    """Pull the upload's bytes from the central pool into a local staging file; return it."""
    from storage.tasks import send_upload

    redis = get_redis()
    key = relay_key(upload, ctx.job.pk, ctx.job.attempt)
    control = f"{key}:control"
    staging = relay_staging(upload)
    staging.parent.mkdir(parents=True, exist_ok=True)
    redis.delete(key, control)
    redis.hset(control, "alive", time.time())
    redis.expire(control, KEY_TTL)
    total = upload.size_bytes
    start, width = span
    received = 0
    digest = hashlib.sha256()
    label = f"Receive the upload from the panel ({human_bytes(total)})"
    with ctx.step(label) as record:
        try:
            send_upload.apply_async(
                args=[upload.pk, key], queue=settings.CELERY_TASK_DEFAULT_QUEUE, retry=False
            )
            last = time.monotonic()
            with open(staging, "wb") as out:
                while True:
                    ctx.check_cancelled()
                    item = redis.blpop([key], timeout=1)
                    _touch(redis, control, "alive", time.time())
                    if item is None:
                        if time.monotonic() - last > IDLE_SECONDS:
                            raise StepFailed(
                                f"No bytes came from the panel's workers for {IDLE_SECONDS:.0f} "
                                "s: is a worker of the central pool running beside the web "
                                "server (celery -A xenpanel worker -Q "
                                f"{settings.CELERY_TASK_DEFAULT_QUEUE})?"
                            )
                        continue
                    last = time.monotonic()
                    message = item[1]
                    if not isinstance(message, bytes):  # jobs.redis: no decode_responses
                        raise TypeError("The panel's Redis client must return bytes.")
                    tag, payload = message[:1], message[1:]
                    if tag == ERROR:
                        raise StepFailed(payload.decode("utf-8", "replace"))
                    if tag == END:
                        break
                    out.write(payload)
                    digest.update(payload)
                    received += len(payload)
                    if received > total:
                        raise StepFailed("The panel sent more bytes than the upload holds.")
                    share = start + width * received / total if total else start
                    ctx.progress(
                        share,
                        f"Receiving from the panel: {human_bytes(received)} of "
                        f"{human_bytes(total)}",
                    )
            if received != total:
                raise StepFailed(
                    f"The panel sent {received} bytes of {total}; upload the image again."
                )
            if upload.sha256 and digest.hexdigest() != upload.sha256:
                raise StepFailed(
                    "The bytes that reached the Dom0 differ from the upload (SHA-256); "
                    "upload the image again."
                )
        except BaseException:
            staging.unlink(missing_ok=True)
            raise
        finally:
            _touch(redis, control, "stop", 1)
            redis.delete(key)
        record.output = f"{human_bytes(received)} received, SHA-256 {digest.hexdigest()}"
    return staging


def drop_upload_bytes(upload: UploadSession) -> None:
    """Ask the central pool to delete the upload's file on the panel's machine (copied now)."""
    from storage.tasks import drop_upload

    try:
        drop_upload.apply_async(
            args=[upload.pk], queue=settings.CELERY_TASK_DEFAULT_QUEUE, retry=False
        )
    except Exception:  # the daily sweep removes it then
        log.warning("could not ask the central pool to drop upload %s", upload.pk, exc_info=True)


# --- the panel side: a task in the central pool ------------------------------------------------
def send(upload_id: int, key: str) -> str:
    """Push the upload's file onto `key`, a window at a time, until the end or a stop."""
    redis = get_redis()
    control = f"{key}:control"
    upload = UploadSession.objects.filter(pk=upload_id).first()
    path = upload.local_path if upload is not None else None
    if path is None or not path.exists():
        redis.rpush(key, ERROR + b"The uploaded file is no longer on the panel; upload it again.")
        redis.expire(key, KEY_TTL)
        return "missing"
    sent = 0
    with open(path, "rb") as source:
        while block := source.read(BLOCK):
            if not _wait_for_room(redis, key, control):
                return f"stopped after {sent} bytes"
            redis.rpush(key, DATA + block)
            redis.expire(key, KEY_TTL)
            sent += len(block)
    if _wait_for_room(redis, key, control):
        redis.rpush(key, END + str(sent).encode())
        redis.expire(key, KEY_TTL)
    return f"sent {sent} bytes"


def _wait_for_room(redis: object, key: str, control: str) -> bool:
    """Wait until the reader has taken enough; False if it stopped or went quiet."""
    while True:
        state = redis.hgetall(control)  # type: ignore[attr-defined]
        if not state or state.get(b"stop"):
            return False
        alive = float(state.get(b"alive", 0))
        if time.time() - alive > IDLE_SECONDS:
            return False
        if redis.llen(key) < WINDOW:  # type: ignore[attr-defined]
            return True
        time.sleep(0.02)


def _touch(redis: Any, control: str, field: str, value: object) -> None:
    """Set a control field and keep the hash alive for another KEY_TTL (a relay may run for
    hours; a hash that expired mid-way would stop the sender, and one re-made by a late write
    would never expire)."""
    pipe = redis.pipeline()
    pipe.hset(control, field, value)
    pipe.expire(control, KEY_TTL)
    pipe.execute()
