"""Storage's Celery tasks: the daily sweep of failed images, and the upload relay's sender.

Beat runs `sweep_failed` (settings.CELERY_BEAT_SCHEDULE); the relay tasks are sent by the upload
job of a host whose worker runs on the Dom0 (storage.relay) to the central pool's queue.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from storage import relay, users
from storage.models import IsoImage, UploadSession
from storage.panel import ISO_KINDS, attach_jobs
from storage.usage import ISO_GONE_STATES, ISO_JOB_STATES, live_target_ids

#: How long a failed or cancelled image stays listed (with its reason) before the sweep.
DEFAULT_MAX_AGE = 24 * 3600
_PART = re.compile(
    r"^(?P<code>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\.relay)?\.part$"
)


@shared_task(ignore_result=True)
def send_upload(upload_id: int, key: str) -> str:
    """Stream an upload's file to the Dom0 worker that asked for it (see storage.relay)."""
    return relay.send(upload_id, key)


@shared_task(ignore_result=True)
def drop_upload(upload_id: int) -> str:
    """Delete an upload's bytes on the panel's machine once its image is on the host."""
    upload = UploadSession.objects.filter(pk=upload_id).first()
    if upload is None:
        return "gone"
    upload.local_path.unlink(missing_ok=True)
    return "dropped"


@shared_task(ignore_result=True)
def sweep_failed(max_age: float | timedelta = DEFAULT_MAX_AGE) -> dict[str, int]:
    """Forget failed and cancelled images older than `max_age` (seconds), with their uploads.

    An image's age is counted from its last activity (its latest job's end, its upload's last
    chunk). Also removed: images a job left half-way whose job ended long ago (cancelled while
    queued, failed by the reaper), uploads abandoned for `max_age`, and files in UPLOAD_DIR
    no session owns. An image whose failed job could not remove its partial copy from the host
    stays listed: its Remove deletes that copy once the host answers. Images a domU has
    attached stay too.
    """
    age = max_age if isinstance(max_age, timedelta) else timedelta(seconds=float(max_age))
    cutoff = timezone.now() - age
    counts = {"images": 0, "uploads": 0, "files": 0}

    # Uploads the browser stopped sending long ago: discarded like a cancelled upload.
    from storage.uploads import abort_session

    for session in UploadSession.objects.filter(
        state=UploadSession.State.RECEIVING, updated_at__lt=cutoff
    ):
        abort_session(session)
        counts["uploads"] += 1

    receiving = UploadSession.objects.filter(
        state=UploadSession.State.RECEIVING, iso_id__isnull=False
    ).values("iso_id")
    stalled = (
        Q(state__in=ISO_JOB_STATES) & ~Q(pk__in=live_target_ids(IsoImage)) & ~Q(pk__in=receiving)
    )
    old = IsoImage.objects.filter(created_at__lt=cutoff)
    candidates = list(old.filter(Q(state__in=ISO_GONE_STATES) | stalled))
    attach_jobs(candidates, ISO_KINDS)
    for iso in candidates:
        if _last_activity(iso) >= cutoff or users.in_use("iso", iso):
            continue
        if iso.job is not None and (iso.job.is_active or iso.job.result.get("iso_left_on_host")):
            continue
        counts["uploads"] += forget_image(iso)
        counts["images"] += 1

    for session in UploadSession.objects.filter(
        state__in=(UploadSession.State.FAILED, UploadSession.State.ABORTED),
        iso__isnull=True,
        updated_at__lt=cutoff,
    ):
        session.local_path.unlink(missing_ok=True)
        session.delete()
        counts["uploads"] += 1

    counts["files"] = _sweep_files(cutoff.timestamp())
    return counts


def forget_image(iso: IsoImage) -> int:
    """Delete an image row and its uploads (rows and bytes here); return how many uploads."""
    sessions = list(UploadSession.objects.filter(iso=iso))
    with transaction.atomic():
        for session in sessions:
            session.delete()
        IsoImage.objects.filter(pk=iso.pk).delete()
    for session in sessions:
        session.local_path.unlink(missing_ok=True)
        relay.relay_staging(session).unlink(missing_ok=True)
    return len(sessions)


def _last_activity(iso: Any) -> Any:
    times = [iso.created_at]
    if iso.job is not None:
        times.append(iso.job.finished_at or iso.job.created_at)
    session = UploadSession.objects.filter(iso=iso).order_by("-updated_at").first()
    if session is not None:
        times.append(session.updated_at)
    return max(t for t in times if t is not None)


def _sweep_files(before: float) -> int:
    """Remove old files in UPLOAD_DIR that no live session needs; return how many."""
    directory = Path(settings.UPLOAD_DIR)
    if not directory.is_dir():
        return 0
    keep = {
        str(code)
        for code in UploadSession.objects.filter(
            Q(state=UploadSession.State.RECEIVING)
            | Q(state=UploadSession.State.COMPLETE, iso__state__in=ISO_JOB_STATES)
        ).values_list("code", flat=True)
    }
    removed = 0
    for path in directory.iterdir():
        try:
            if not path.is_file() or path.stat().st_mtime >= before:
                continue
        except FileNotFoundError:
            continue
        match = _PART.match(path.name)
        orphan = path.name.startswith("form-") and path.name.endswith(".part")
        if (match and match["code"] not in keep) or orphan:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
