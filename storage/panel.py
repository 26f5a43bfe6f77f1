"""Context for the storage section of the host page and the ISO library: rows plus live jobs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest

from accounts import access
from hosts.models import Host
from jobs.choices import ACTIVE_JOB_STATUSES, JobStatus
from jobs.models import Job, JobTarget
from storage.jobs import isos as iso_jobs
from storage.jobs import volumes as volume_jobs
from storage.models import IsoImage, UploadSession, Volume

VOLUME_KINDS = (volume_jobs.CREATE, volume_jobs.DESTROY, volume_jobs.IMPORT)
ISO_KINDS = (iso_jobs.FETCH, iso_jobs.UPLOAD, iso_jobs.DELETE)


def attach_jobs(rows: Iterable[Any], kinds: Iterable[str]) -> bool:
    """Give each row `.job`: its active job, else its latest one. Return True if any is active."""
    rows = list(rows)
    by_pk = {row.pk: row for row in rows}
    for row in rows:
        row.job = None
    if not by_pk:
        return False
    active = False
    targets = (
        JobTarget.objects.filter(
            content_type=ContentType.objects.get_for_model(rows[0]),
            object_id__in=list(by_pk),
            job__kind__in=list(kinds),
        )
        .select_related("job")
        .order_by("-job__created_at", "-job_id")
    )
    # Newest first, so the first job seen per target is the one to show.
    for target in targets:
        row, job = by_pk[target.object_id], target.job
        if row.job is None or (job.is_active and not row.job.is_active):
            row.job = job
        active = active or job.is_active
    return active


def attach_uploads(isos: Iterable[IsoImage]) -> bool:
    """Give uploading images `.upload` (bytes received so far). Return True if any is receiving."""
    rows = {iso.pk: iso for iso in isos}
    for iso in rows.values():
        iso.receiving = None
    receiving = UploadSession.objects.filter(iso_id__in=rows, state=UploadSession.State.RECEIVING)
    for session in receiving:
        rows[session.iso_id].receiving = session
    return bool(receiving)


def unmanaged_volumes(host: Host) -> tuple[list[dict[str, Any]], Job | None]:
    """Volumes the last scan found on the host that the panel does not know, and that scan."""
    scan = Job.objects.on(host).filter(kind=volume_jobs.SCAN).order_by("-created_at", "-id").first()
    if scan is None or scan.status != JobStatus.SUCCEEDED:
        return [], scan
    known = set(Volume.objects.filter(host=host).values_list("dataset", flat=True))
    found = [row for row in scan.result.get("unmanaged", []) if row["dataset"] not in known]
    return found, scan


def host_storage_context(request: HttpRequest, host: Host) -> dict[str, object]:
    """Return the volumes and images of `host` the user may see, with their jobs."""
    user = request.user
    volumes = list(access.owned_for_user(Volume.objects.filter(host=host), user))
    isos = list(access.owned_for_user(IsoImage.objects.filter(host=host), user))
    active = attach_jobs(volumes, VOLUME_KINDS)
    active = attach_jobs(isos, ISO_KINDS) or active
    active = attach_uploads(isos) or active
    unmanaged, scan = unmanaged_volumes(host)
    scan_active = scan is not None and scan.status in ACTIVE_JOB_STATUSES
    return {
        "storage_host": host,
        "storage_volumes": volumes,
        "storage_isos": isos,
        "storage_unmanaged": unmanaged if access.is_admin(user) else [],
        "storage_scan": scan,
        "storage_active": active or scan_active,
        "storage_can_operate": access.can_operate(user),
        "storage_is_admin": access.is_admin(user),
    }
