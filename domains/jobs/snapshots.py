"""Jobs: take a snapshot of all of a domU's volumes, roll back to one, delete one, read sizes.

A snapshot is one `zfs snapshot ds1@name ds2@name ...`: zfs makes all of them or none, so a
failed snapshot leaves nothing behind. A rollback is one `zfs rollback -r` per volume (zfs takes
one snapshot per call), so the log says which volumes were rolled back if one fails half-way.
"""

from __future__ import annotations

from dom0 import commands
from dom0.errors import Dom0Error
from domains import actions, records
from domains.jobs.common import find, finish, load_domain, reads_back, run
from domains.models import Domain, DomainSnapshot, SnapshotMode
from domains.snapshots import logic, steps
from domains.snapshots.actions import SIZES, volumes_of
from domains.snapshots.rollback import roll_back
from jobs.context import JobContext, StepFailed
from jobs.registry import job_kind

READY, FAILED = DomainSnapshot.State.READY, DomainSnapshot.State.FAILED


def load_snapshot(ctx: JobContext, domain: Domain) -> DomainSnapshot:
    snap = DomainSnapshot.objects.filter(
        pk=ctx.job.params.get("snapshot_id"), domain=domain
    ).first()
    if snap is None:
        raise StepFailed(
            f"The snapshot {ctx.job.params.get('name', '')} of {domain.name} was removed from "
            "the panel before the job ran."
        )
    return snap


# --- take -----------------------------------------------------------------------------------
@job_kind(actions.SNAPSHOT)
@reads_back
def snapshot(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    snap = load_snapshot(ctx, domain)
    try:
        summary = _take(ctx, domain, snap)
    except BaseException as exc:  # cancelled too: a row that never became READY says why
        reason = str(exc) or "the job was cancelled before zfs made it"
        DomainSnapshot.objects.filter(pk=snap.pk, state=DomainSnapshot.State.CREATING).update(
            state=FAILED, note=f"Not made: {reason}"[:200]
        )
        raise
    if snap.schedule:
        summary += _retain(ctx, domain, snap.schedule)
    steps.refresh_sizes(ctx, domain, snap.datasets)
    return finish(ctx, domain, summary)


def _take(ctx: JobContext, domain: Domain, snap: DomainSnapshot) -> str:
    volumes = volumes_of(domain)
    if not volumes:
        raise StepFailed(f"{domain.name} has no volumes: there is nothing to snapshot.")
    unready = [v.dataset for v in volumes if v.state != v.State.READY]
    if unready:
        raise StepFailed(
            f"Not every volume of {domain.name} is ready ({', '.join(unready)}); nothing was "
            "snapshotted."
        )
    datasets = [v.dataset for v in volumes]
    version = records.current_version(domain)
    snap.datasets = datasets
    snap.config_text = version.text if version else ""
    snap.config_number = version.number if version else None
    snap.save(update_fields=["datasets", "config_text", "config_number"])

    row = find(ctx, domain, "Is the domU running? (xl list)")
    if ctx.redelivered and row is not None and row["state"] == "paused" and _we_paused(ctx, domain):
        ctx.note("Earlier run", f"An earlier run paused {domain.name} and stopped; unpausing.")
        _unpause(ctx, domain, failed=False)
        row = find(ctx, domain, "Is the domU running? (xl list)")
    mode = snap.mode
    if row is None and mode != SnapshotMode.STOPPED:
        ctx.note("Not running", f"{domain.name} is not running: the snapshot is a clean one.")
        mode = SnapshotMode.STOPPED
    if row is not None and mode == SnapshotMode.STOPPED:
        raise StepFailed(
            f"{domain.name} is running (domain {row['domid']} in xl list): a shut-down "
            "snapshot needs it stopped. Shut it down first, or take a running or paused one."
        )
    if already_made(ctx, snap, datasets):
        DomainSnapshot.objects.filter(pk=snap.pk).update(state=READY, mode=mode)
        return f"snapshot @{snap.name} was already taken"
    pause = mode == SnapshotMode.PAUSED and row is not None and row["state"] != "paused"
    if mode == SnapshotMode.PAUSED and not pause:
        ctx.note("Already paused", f"{domain.name} is paused already; it stays paused.")
    ctx.progress(30, "Taking the snapshot")
    if pause:
        run(ctx, commands.xl_pause(domain.name), f"Pause {domain.name} for the snapshot")
        try:
            _zfs_snapshot(ctx, snap, datasets, mode)
        except BaseException:
            _unpause(ctx, domain, failed=True)
            raise
        _unpause(ctx, domain, failed=False)
    else:
        _zfs_snapshot(ctx, snap, datasets, mode)
    return f"snapshot @{snap.name} taken of {len(datasets)} volume(s)"


def already_made(ctx: JobContext, snap: DomainSnapshot, datasets: list[str]) -> bool:
    """Say whether `@name` exists on the volumes already (True: an earlier run of this job)."""
    listing = steps.list_snapshots(ctx, datasets, "Check the name is free (zfs list)")
    taken = [d for d in datasets if d not in logic.missing_on_host(listing, snap.name, datasets)]
    if not taken:
        return False
    if ctx.redelivered and len(taken) == len(datasets):
        ctx.note("Already taken", f"An earlier run of this job made @{snap.name}; kept it.")
        return True
    raise StepFailed(
        f"A snapshot @{snap.name} already exists on {', '.join(taken)} (made outside the "
        "panel?). Choose another name; nothing was snapshotted."
    )


def _zfs_snapshot(ctx: JobContext, snap: DomainSnapshot, datasets: list[str], mode: str) -> None:
    argv = commands.zfs_snapshot(logic.snapshot_names(datasets, snap.name))
    try:
        run(ctx, argv, f"Snapshot {len(datasets)} volume(s) at once (zfs snapshot, atomic)")
    except Dom0Error as exc:
        raise StepFailed(f"{exc}. zfs made no snapshot on any volume (all or none).") from exc
    # READY now: whatever fails later (unpause, reading sizes), the snapshot exists.
    DomainSnapshot.objects.filter(pk=snap.pk).update(state=READY, mode=mode, note="")


def _unpause(ctx: JobContext, domain: Domain, *, failed: bool) -> None:
    """Unpause after the snapshot, whatever happened to it; say so if that fails too."""
    argv = commands.xl_unpause(domain.name)
    try:
        steps.run_always(ctx, argv, f"Unpause {domain.name}")
    except Dom0Error as exc:
        if failed:
            return  # the snapshot's own failure is the job's error; this step shows the other
        raise StepFailed(
            f"The snapshot was taken, but {domain.name} is still paused: {exc}. Unpause it "
            "from its page (or `xl unpause` on the host)."
        ) from exc


def _we_paused(ctx: JobContext, domain: Domain) -> bool:
    """Say whether an earlier run of this job paused the domU and did not unpause it."""
    argvs = [s.argv for s in ctx.job.steps.order_by("-seq") if s.argv]
    pause, unpause = commands.xl_pause(domain.name), commands.xl_unpause(domain.name)
    last = next((a for a in argvs if a in (pause, unpause)), None)
    return last == pause


def _retain(ctx: JobContext, domain: Domain, schedule: str) -> str:
    """Destroy the oldest snapshots of this schedule beyond its count (never manual ones)."""
    domain.refresh_from_db()
    keep = domain.snapshot_keep_hourly if schedule == logic.HOURLY else domain.snapshot_keep_daily
    mine = DomainSnapshot.objects.filter(domain=domain, schedule=schedule)
    mine.filter(state=FAILED).delete()  # superseded attempts: nothing of them is on the host
    if keep <= 0:
        ctx.note("Retention", f"Keeping {schedule} snapshots is off now; none destroyed.")
        return ""
    ready = list(mine.filter(state=READY))
    old = logic.beyond_keep([logic.Kept(s.name, s.created_at) for s in ready], keep)
    ctx.note(
        "Retention",
        f"Keep {keep} {schedule} snapshot(s); destroying {', '.join(old) or 'none'}. Snapshots "
        "taken by hand are never counted or destroyed.",
    )
    problems = []
    for snap in (s for s in ready if s.name in old):
        destroyed, failures = steps.destroy(ctx, snap.datasets, snap.name)
        if failures:
            problems += failures
            left = [d for d in snap.datasets if d not in destroyed]
            DomainSnapshot.objects.filter(pk=snap.pk).update(datasets=left)
        else:
            snap.delete()
    if problems:
        ctx.note("Retention left some snapshots", "\n".join(problems))
        return f"; {len(old)} old one(s) due to go, some kept: " + "; ".join(problems)
    return f"; destroyed {len(old)} old {schedule} snapshot(s)" if old else ""


# --- roll back, delete, sizes -------------------------------------------------------------------
@job_kind(actions.SNAPSHOT_ROLLBACK)
@reads_back
def rollback(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    snap = load_snapshot(ctx, domain)
    summary = roll_back(ctx, domain, snap)
    steps.refresh_sizes(ctx, domain, [v.dataset for v in volumes_of(domain)])
    return finish(ctx, domain, summary)


@job_kind(actions.SNAPSHOT_DELETE)
@reads_back
def delete(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    snap = load_snapshot(ctx, domain)
    try:
        summary = _delete(ctx, snap)
    except BaseException:
        was = ctx.job.params.get("was") or READY
        DomainSnapshot.objects.filter(pk=snap.pk, state=DomainSnapshot.State.DELETING).update(
            state=was
        )
        raise
    steps.refresh_sizes(ctx, domain, [v.dataset for v in volumes_of(domain)])
    return finish(ctx, domain, summary)


def _delete(ctx: JobContext, snap: DomainSnapshot) -> str:
    existing = steps.existing_volumes(ctx)
    here = [d for d in snap.datasets if d in existing]
    listing = steps.list_snapshots(ctx, here)
    present = [d for d in here if d not in logic.missing_on_host(listing, snap.name, here)]
    if not present:
        ctx.note("Nothing on the host", f"No volume has @{snap.name}; removing the record only.")
        snap.delete()
        return f"snapshot @{snap.name} was not on the host; its record is removed"
    destroyed, failures = steps.destroy(ctx, present, snap.name)
    if failures:
        left = [d for d in present if d not in destroyed]
        note = f"Partly deleted: still on {', '.join(left)}" if destroyed else ""
        was = READY if destroyed else ctx.job.params.get("was") or READY
        DomainSnapshot.objects.filter(pk=snap.pk).update(state=was, datasets=left, note=note[:200])
        gone = f" Destroyed: {', '.join(destroyed)}." if destroyed else " Nothing was destroyed."
        raise StepFailed(" ".join(failures) + gone)
    snap.delete()
    return f"snapshot @{snap.name} destroyed on {len(destroyed)} volume(s)"


@job_kind(SIZES)
@reads_back
def sizes(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    datasets = [v.dataset for v in volumes_of(domain) if v.state == v.State.READY]
    if not datasets:
        raise StepFailed(f"{domain.name} has no ready volumes to read snapshots from.")
    return finish(ctx, domain, steps.refresh_sizes(ctx, domain, datasets))
