"""Host steps the snapshot jobs share: list snapshots, see which volumes exist, destroy one
snapshot on several volumes, store the space each uses."""

from __future__ import annotations

from collections.abc import Sequence

from dom0 import commands, errors, parsers
from dom0.errors import Dom0Error
from dom0.parsers import classify_error
from dom0.transport import Result
from domains.jobs.common import run
from domains.models import Domain, DomainSnapshot
from domains.snapshots import logic
from domains.snapshots.logic import Listed
from jobs.context import JobContext, tail

ZFS_TIMEOUT = 120


def list_snapshots(
    ctx: JobContext, datasets: Sequence[str], label: str = "List the snapshots (zfs list)"
) -> list[Listed]:
    """Run `zfs list -H -p -t snapshot -o name,creation,used,referenced -d 1 <datasets>`."""
    if not datasets:
        return []
    result = run(ctx, commands.zfs_list_snapshots(list(datasets)), label, timeout=ZFS_TIMEOUT)
    return [
        Listed(r.dataset, r.snapshot, r.creation, r.used, r.referenced)
        for r in parsers.parse_zfs_snapshots(result.stdout)
    ]


def existing_volumes(ctx: JobContext) -> set[str]:
    """Return every volume on the host (`zfs list -t volume`): which of a snapshot's are left."""
    result = run(ctx, commands.zfs_list_volumes(), "List the volumes (zfs list)", ZFS_TIMEOUT)
    return {v.name for v in parsers.parse_zfs_list(result.stdout)}


def run_always(ctx: JobContext, argv: Sequence[str], label: str) -> Result:
    """Run a step even if the job was asked to stop (undoing a pause must not be skipped)."""
    with ctx.step(label, argv) as record:
        result = ctx.transport.run(list(argv), timeout=ZFS_TIMEOUT)
        record.rc, record.seconds = result.rc, round(result.seconds, 3)
        record.output = ctx.redact(tail((result.stdout + result.stderr).strip()))
        if result.rc != 0:
            raise classify_error(list(argv), result.rc, result.stdout, result.stderr)
    return result


def destroy_failure(snapshot: str, error: Dom0Error) -> str:
    """Say why `zfs destroy <snapshot>` refused, in words a person can act on."""
    if isinstance(error, errors.HasClones) or "dependent clones" in error.stderr:
        clones = getattr(error, "datasets", ())
        named = f" ({', '.join(clones)})" if clones else ""
        return (
            f"{snapshot}: snapshot has dependent clones{named}. zfs keeps a snapshot that a "
            "clone is made from: delete the domUs made from it, or promote their disks "
            "(zfs promote), then delete it again."
        )
    return f"{snapshot}: {error}"


def destroy(ctx: JobContext, datasets: Sequence[str], name: str) -> tuple[list[str], list[str]]:
    """Run `zfs destroy ds@name` for each dataset (one command each: zfs takes one dataset).

    Return the datasets destroyed and a sentence per refusal; carry on after a refusal so that
    the log shows every volume's answer.
    """
    destroyed: list[str] = []
    failures: list[str] = []
    for dataset in datasets:
        snapshot = f"{dataset}@{name}"
        argv = commands.zfs_destroy_snapshot(snapshot)
        result = ctx.run(argv, label=f"Destroy {snapshot}", timeout=ZFS_TIMEOUT, check=False)
        if result.rc == 0:
            destroyed.append(dataset)
            continue
        error = classify_error(argv, result.rc, result.stdout, result.stderr)
        failures.append(destroy_failure(snapshot, error))
    return destroyed, failures


def store_sizes(domain: Domain, listing: Sequence[Listed]) -> list[str]:
    """Store used/referenced of the domU's ready snapshots; return the names not listed."""
    unlisted = []
    for snap in DomainSnapshot.objects.filter(domain=domain, state=DomainSnapshot.State.READY):
        found = logic.sizes(listing, snap.name, snap.datasets)
        if found is None:
            unlisted.append(snap.name)
            continue
        DomainSnapshot.objects.filter(pk=snap.pk).update(
            used_bytes=found[0], referenced_bytes=found[1]
        )
    return unlisted


def refresh_sizes(ctx: JobContext, domain: Domain, datasets: Sequence[str]) -> str:
    """List the snapshots of `datasets`, store every row's space; return a sentence for the log."""
    listing = list_snapshots(ctx, datasets, "Read the snapshots' space back (zfs list)")
    unlisted = store_sizes(domain, listing)
    if unlisted:
        names = ", ".join(sorted(unlisted))
        ctx.note(
            "Snapshots not on the host",
            f"Not listed on {', '.join(datasets)}: {names} (destroyed outside the panel, or on a "
            "volume no longer attached).",
        )
    return f"{len(listing)} snapshot(s) listed"
