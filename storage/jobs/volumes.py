"""ZFS volume jobs: create, destroy (with busy retries), scan the host, import what we find.

Each job checks the host with `zfs list` before it acts, so a job redelivered after its worker
died finishes what it started instead of failing on its own earlier work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts import quotas
from dom0 import commands, parsers, validate
from dom0.errors import CommandFailed, DatasetBusy, DatasetExists, DatasetMissing, Dom0Error
from hosts.models import Host
from jobs.context import JobContext, StepFailed
from jobs.enqueue import enqueue_on, enqueue_on_host
from jobs.models import Job
from jobs.registry import job_kind
from jobs.rows import save_fields
from storage import users
from storage.models import Volume
from storage.pools import read_pools

CREATE = "volume.create"
DESTROY = "volume.destroy"
SCAN = "volume.scan"
IMPORT = "volume.import"

#: What a failed create left on the host, in its job's result (`volume_on_host`): nothing, or
#: perhaps the volume (`zfs create` was sent and its answer lost).
ON_HOST_NONE = "none"
ON_HOST_UNKNOWN = "unknown"


# --- who uses a volume -------------------------------------------------------------------------
def volume_in_use(volume: Volume) -> str | None:
    """Return why `volume` must not be destroyed (a domU's config uses it), or None."""
    return users.in_use("volume", volume)


# --- queueing (called from views inside transaction.atomic) ------------------------------------
def queue_create(volume: Volume, user: Any, *, retry: bool = False) -> Job:
    """Queue `zfs create`; `retry`: an earlier create failed (it may have made the volume)."""
    quotas.check(volume.owner, exclude=volume, disk_bytes=volume.size_bytes)
    verb = "Retry creating" if retry else "Create"
    title = f"{verb} volume {volume.dataset} ({volume.size_human})"
    params = {"retry": True} if retry else {}
    return enqueue_on(CREATE, "volume", volume, title=title, user=user, params=params)


def queue_destroy(volume: Volume, user: Any) -> Job:
    title = f"Destroy volume {volume.dataset}"
    params = {"dataset": volume.dataset}
    return enqueue_on(DESTROY, "volume", volume, title=title, user=user, params=params)


def scan_key(host: Host) -> str:
    return f"volumes:{host.pk}"


def queue_scan(host: Host, user: Any) -> Job:
    title, label = f"Scan volumes on {host.name}", f"{host.name} volumes"
    return enqueue_on_host(SCAN, host, key=scan_key(host), title=title, label=label, user=user)


def queue_import(host: Host, dataset: str, user: Any) -> Job:
    key, params = f"volume:{host.pk}:{dataset}", {"dataset": dataset}
    title = f"Import volume {dataset}"
    return enqueue_on_host(
        IMPORT, host, key=key, title=title, label=dataset, user=user, params=params
    )


# --- helpers -----------------------------------------------------------------------------------
def _host(ctx: JobContext) -> Host:
    host: Host | None = ctx.target("host")
    if host is None:
        raise StepFailed("This job has no host")
    return host


def _volume(ctx: JobContext) -> Volume | None:
    return Volume.objects.select_related("host").filter(pk=ctx.job.params["volume_id"]).first()


def list_volumes(ctx: JobContext, host: Host) -> dict[str, parsers.ZfsVolume]:
    """Run `zfs list -H -p` under the host's volumes parent and return the volumes by name."""
    result = ctx.run(
        commands.zfs_list_volumes(host.volumes_parent), label="List volumes", timeout=60
    )
    return {row.name: row for row in parsers.parse_zfs_list(result.stdout)}


def _observed(row: parsers.ZfsVolume) -> dict[str, Any]:
    values: dict[str, Any] = {"used_bytes": row.used}
    if row.volsize:
        values["size_bytes"] = row.volsize
    if row.refreservation is not None:
        values["sparse"] = row.refreservation == 0
    return values


# --- jobs --------------------------------------------------------------------------------------
@job_kind(CREATE)
def create_volume(ctx: JobContext) -> str:
    """Run `zfs create -V <size> -o volmode=dev <parent>/<name>` unless the host already has it.

    A failure leaves the row FAILED and says in the log (and in the job's `volume_on_host`)
    what is on the host: nothing, or perhaps the volume when `zfs create` got no answer.
    """
    volume = _volume(ctx)
    if volume is None:
        return "The volume was removed from the panel before the job ran"
    host = volume.host
    sent = False  # `zfs create` went to the host; True even if no answer came back
    try:
        ctx.progress(10, "Checking the host")
        found = list_volumes(ctx, host)
        row = found.get(volume.dataset)
        if row is not None:
            if ctx.redelivered:
                ctx.note("Already created", "This job created it before its worker was lost.")
            elif ctx.job.params.get("retry") and _as_asked(row, volume):
                ctx.note("Already created", "The earlier attempt made it before it failed.")
            else:
                raise DatasetExists(
                    f"The ZFS dataset '{volume.dataset}' already exists on the host",
                    hint="Choose another name, or scan the host's volumes and import it.",
                )
        else:
            ctx.progress(40, f"Creating {volume.dataset}")
            argv = commands.zfs_create_volume(
                volume.dataset, volume.size_bytes, sparse=volume.sparse
            )
            ctx.check_cancelled(force=True)
            sent = True
            ctx.run(argv, label="Create volume", timeout=300)
    except DatasetExists:
        # Not ours: forget the row so the name can be imported.
        Volume.objects.filter(pk=volume.pk).delete()
        raise
    except BaseException as exc:
        unknown = sent and not isinstance(exc, CommandFailed)
        _failed(ctx, volume, unknown=unknown)
        raise
    if row is None:
        ctx.progress(80, "Reading the new volume")
        try:
            row = list_volumes(ctx, host).get(volume.dataset)
        except Dom0Error as exc:
            # zfs said it made it: it exists, whatever the listing says now.
            save_fields(volume, state=Volume.State.READY)
            ctx.note("Not read back", f"{volume.dataset} was made; listing it failed: {exc}")
            return f"Created {volume.device_path} ({volume.size_human})"
        if row is None:
            _failed(ctx, volume, unknown=True)
            raise StepFailed(f"zfs create succeeded but {volume.dataset} is not listed")
    save_fields(volume, state=Volume.State.READY, **_observed(row))
    ctx.result(dataset=volume.dataset, device=volume.device_path)
    return f"Created {volume.device_path} ({volume.size_human})"


def _as_asked(row: parsers.ZfsVolume, volume: Volume) -> bool:
    """Say whether a dataset on the host has exactly the size and reservation asked for."""
    if row.volsize != volume.size_bytes:
        return False
    return row.refreservation is None or (row.refreservation == 0) == volume.sparse


def _failed(ctx: JobContext, volume: Volume, *, unknown: bool) -> None:
    """Mark a create failed and write down what it left on the host."""
    save_fields(volume, state=Volume.State.FAILED)
    host = volume.host.name
    if unknown:
        ctx.result(volume_on_host=ON_HOST_UNKNOWN)
        ctx.note(
            "Volume state unknown",
            f"`zfs create` was sent to {host} but its answer was lost: {volume.dataset} may "
            "exist there. Retry checks the host first; Remove forgets the row (scan the "
            "host's volumes later to find what is there).",
        )
    else:
        ctx.result(volume_on_host=ON_HOST_NONE)
        ctx.note(
            "Volume not made",
            f"Nothing of {volume.dataset} was made on {host}. Retry tries again; Remove "
            "forgets the row.",
        )


@job_kind(DESTROY)
def destroy_volume(ctx: JobContext) -> str:
    """Run `zfs destroy`, retrying "dataset is busy" a few times, then forget the volume."""
    volume = _volume(ctx)
    if volume is None:
        return "The volume was already removed from the panel"
    previous = volume.state
    reason = volume_in_use(volume)
    if reason:
        raise StepFailed(f"Not destroying {volume.dataset}: {reason}. Remove it from that domU.")
    if volume.state == Volume.State.CREATING:
        # Its create ended before `zfs create` (a create job locks its volume, so none runs
        # now): whatever has that name on the host is not the panel's to destroy.
        ctx.note("Volume never made", f"{volume.dataset}: only the panel's row is removed")
        volume.delete()
        return f"{volume.dataset} was never made on the host; removed from the panel"
    ctx.progress(10, "Checking the host")

    def mark_destroying() -> None:
        save_fields(volume, state=Volume.State.DESTROYING)

    try:
        destroyed = destroy_dataset(ctx, volume, on_start=mark_destroying)
    except Dom0Error:
        save_fields(volume, state=previous if previous != Volume.State.DESTROYING else "ready")
        raise
    volume.delete()
    if not destroyed:
        return f"{volume.dataset} was not on the host; removed from the panel"
    return f"Destroyed {volume.dataset}"


def destroy_dataset(
    ctx: JobContext, volume: Volume, *, on_start: Callable[[], None] | None = None
) -> bool:
    """Destroy a volume's dataset, retrying "dataset is busy"; False if the host lacked it.

    Checks `zfs list` first and takes "dataset does not exist" as done, so a redelivered job (or
    the domU delete job, which calls this too) finishes instead of failing on its own work.
    """
    found = list_volumes(ctx, volume.host)
    if volume.dataset not in found:
        ctx.note("Not on the host", f"{volume.dataset} does not exist; removing it from the panel.")
        return False
    if on_start is not None:
        on_start()
    # -r: the volume's snapshots go with it (zfs refuses a plain destroy of a volume that has
    # any); a snapshot other volumes were cloned from still stops it ("dependent clones").
    argv = commands.zfs_destroy(volume.dataset, recursive=True)
    tries = max(1, int(settings.VOLUME_BUSY_RETRIES))
    for attempt in range(1, tries + 1):
        ctx.progress(20 + 60 * attempt // tries, f"Destroying (try {attempt} of {tries})")
        try:
            ctx.run(argv, label=f"Destroy volume (try {attempt})", timeout=300)
            return True
        except DatasetMissing:
            return False
        except DatasetBusy as exc:
            if attempt == tries:
                raise DatasetBusy(
                    f"The ZFS volume '{volume.dataset}' is still busy after {tries} tries",
                    hint="A running domU probably uses it: stop that domU, then destroy again.",
                    argv=exc.argv,
                    rc=exc.rc,
                    stderr=exc.stderr,
                ) from exc
            time.sleep(settings.VOLUME_BUSY_PAUSE)
    return True


@job_kind(SCAN)
def scan_volumes(ctx: JobContext) -> str:
    """Reconcile the panel's volumes with `zfs list`; report the ones the panel does not know."""
    host = _host(ctx)
    ctx.progress(10, "Listing pools")
    read_pools(ctx, host)
    ctx.progress(20, "Listing volumes")
    found = list_volumes(ctx, host)
    known = {v.dataset: v for v in Volume.objects.filter(host=host)}
    settled = (Volume.State.READY, Volume.State.MISSING)
    with transaction.atomic():
        for name, volume in known.items():
            if volume.state not in settled:
                continue  # a create or destroy job owns this row right now
            row = found.get(name)
            if row is None:
                save_fields(volume, state=Volume.State.MISSING)
            else:
                save_fields(volume, state=Volume.State.READY, **_observed(row))
    unmanaged = [
        {"dataset": row.name, "size": row.volsize, "used": row.used}
        for name, row in sorted(found.items())
        if name not in known
    ]
    ctx.result(unmanaged=unmanaged, listed=len(found))
    return f"{len(found)} volumes on the host, {len(unmanaged)} not in the panel"


@job_kind(IMPORT)
def import_volume(ctx: JobContext) -> str:
    """Add a volume that exists on the host (under its volumes parent) to the panel."""
    host = _host(ctx)
    dataset = ctx.job.params["dataset"]
    validate.dataset_name(dataset, require_child=True)
    if not dataset.startswith(host.volumes_parent.rstrip("/") + "/"):
        raise StepFailed(f"{dataset} is not under {host.volumes_parent}")
    found = list_volumes(ctx, host)
    row = found.get(dataset)
    if row is None:
        raise StepFailed(f"{dataset} is not a volume on {host.name}")
    volume, created = Volume.objects.get_or_create(
        host=host,
        dataset=dataset,
        defaults={
            "size_bytes": row.volsize or 0,
            "state": Volume.State.READY,
            "imported": True,
            "owner": ctx.job.requested_by,
        },
    )
    save_fields(volume, **_observed(row))
    ctx.result(volume=str(volume.code))
    return f"Imported {dataset}" if created else f"{dataset} was already in the panel"
