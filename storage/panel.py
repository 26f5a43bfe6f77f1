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
from storage.usage import ISO_JOB_STATES, volumes_being_made

VOLUME_KINDS = (volume_jobs.CREATE, volume_jobs.DESTROY, volume_jobs.IMPORT)
ISO_KINDS = (iso_jobs.FETCH, iso_jobs.UPLOAD, iso_jobs.DELETE)


def attach_jobs(rows: Iterable[Any], kinds: Iterable[str] | None) -> bool:
    """Give each row `.job`: its active job, else its latest one. Return True if any is active.

    `kinds` limits the jobs to those kinds (None: any job that names the row).
    """
    rows = list(rows)
    by_pk = {row.pk: row for row in rows}
    for row in rows:
        row.job = None
    if not by_pk:
        return False
    active = False
    targets = JobTarget.objects.filter(
        content_type=ContentType.objects.get_for_model(rows[0]), object_id__in=list(by_pk)
    )
    if kinds is not None:
        targets = targets.filter(job__kind__in=list(kinds))
    targets = targets.select_related("job").order_by("-job__created_at", "-job_id")
    # Newest first, so the first job seen per target is the one to show.
    for target in targets:
        row, job = by_pk[target.object_id], target.job
        if row.job is None or (job.is_active and not row.job.is_active):
            row.job = job
        active = active or job.is_active
    return active


def volume_on_host(volume: Volume, being_made: set[int] | None = None) -> str | None:
    """Say what the host has of a volume the panel did not finish making (call attach_jobs).

    ON_HOST_NONE: nothing (its create ended before `zfs create`, or zfs refused);
    ON_HOST_UNKNOWN: perhaps the volume (`zfs create` got no answer); None for a volume that
    exists or that a live job is making. A list passes `being_made` (from `volumes_made_now`)
    so that it asks once, not once per row.
    """
    if volume.state == Volume.State.CREATING:
        if being_made is None:
            being_made = volumes_made_now([volume])
        if volume.pk in being_made:
            return None
        # Its job ended without saying (cancelled while queued, or failed by the reaper after
        # its worker died): only a job that never started surely made nothing.
        job = getattr(volume, "job", None)
        started = job is not None and job.started_at is not None
        return volume_jobs.ON_HOST_UNKNOWN if started else volume_jobs.ON_HOST_NONE
    if volume.state == Volume.State.FAILED:
        job = getattr(volume, "job", None)
        known = job.result.get("volume_on_host") if job is not None else None
        return known or volume_jobs.ON_HOST_UNKNOWN
    return None


def volumes_made_now(volumes: Iterable[Volume]) -> set[int]:
    """The pks of those of `volumes` still "creating" that a live job is making (one query)."""
    creating = [v.pk for v in volumes if v.state == Volume.State.CREATING]
    if not creating:
        return set()
    made = Volume.objects.filter(pk__in=creating).filter(volumes_being_made())
    return set(made.values_list("pk", flat=True))


#: Image states in which an image did not become usable, for good.
ISO_UNUSABLE_STATES = (IsoImage.State.FAILED, IsoImage.State.CANCELLED, IsoImage.State.BAD)
REMOVE_FORGET = "forget"  # only the row (and the upload's bytes here): nothing of it is on the host
REMOVE_DELETE = "delete"  # a job removes the file it left on the host, then the row


def iso_removal(iso: IsoImage) -> str | None:
    """Say how Remove gets rid of an image that did not become usable, or None if it may not.

    Call attach_jobs(…, ISO_KINDS) and attach_uploads first. A BAD image, and a failed one whose
    job could not remove its partial copy, are on the host: a delete job removes the file. A
    failed or cancelled one is only a row. So is one a job left on its way (its job ended
    without finishing: cancelled while queued, or its worker lost); not one still arriving or
    with a live job.
    """
    job = getattr(iso, "job", None)
    if getattr(iso, "receiving", None) is not None or (job is not None and job.is_active):
        return None
    if iso.state == IsoImage.State.BAD:
        return REMOVE_DELETE
    if iso.state in ISO_UNUSABLE_STATES or iso.state in ISO_JOB_STATES:
        if job is not None and job.result.get("iso_left_on_host"):
            return REMOVE_DELETE
        return REMOVE_FORGET
    return None


def iso_may_have_left(iso: IsoImage) -> bool:
    """Say whether a job left on its way may have put part of the file on the host."""
    job = getattr(iso, "job", None)
    return (
        iso.state in ISO_JOB_STATES
        and iso.state != IsoImage.State.PENDING
        and job is not None
        and job.started_at is not None
    )


def attach_uploads(isos: Iterable[IsoImage]) -> bool:
    """Give uploading images `.upload` (bytes received so far). Return True if any is receiving."""
    rows = {iso.pk: iso for iso in isos}
    for iso in rows.values():
        iso.receiving = None
    receiving = UploadSession.objects.filter(iso_id__in=rows, state=UploadSession.State.RECEIVING)
    for session in receiving:
        assert session.iso_id is not None  # the filter asked for these images' sessions
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
    # The owner's name is shown on every row: joined, not asked for row by row.
    volumes = list(
        access.owned_for_user(Volume.objects.filter(host=host), user).select_related("owner")
    )
    isos = list(
        access.owned_for_user(IsoImage.objects.filter(host=host), user).select_related("owner")
    )
    active = attach_jobs(volumes, None)
    being_made = volumes_made_now(volumes)
    for volume in volumes:
        volume.on_host = volume_on_host(volume, being_made)
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
