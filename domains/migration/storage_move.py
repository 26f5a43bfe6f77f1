"""Storage migration of local zvols: copy the disks with zfs send/recv, then restart on the target.

snapshot `@migrate-<job>` → full `zfs send` of each volume into `zfs recv -s` on the target
(relayed through the worker, or directly Dom0 to Dom0 over SSH: transfer.py) while the domU
runs → downtime (shutdown: a clean stop, then a cold start on the target; pause: the guest
freezes for the incremental, is destroyed on the source and cold-started on the target — not a
live move) → `@migrate-<job>-final` and an incremental send of
what changed → the config on the target → `xl create` there. Until that create succeeds nothing is
final: any failure (or a cancel) restarts (or unpauses) the domU on the source and removes what
was received. A cancel is obeyed up to the moment before `xl create`; from its start the job
cannot be stopped (`transfer.uncancellable`): the create runs to a known end, and after it the
record moves first and the tidying follows, so the panel never shows the source while the domU
runs on the target. The source volumes stay, marked superseded, until the user confirms the
clean-up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from dom0 import commands, parsers
from dom0.errors import DatasetMissing, Dom0Error, ParseError
from dom0.transports.relay import RelayFailed
from domains import cfg, records
from domains.migration import switch, transfer
from domains.models import Domain
from hosts.models import Host
from jobs.context import JobCancelled, JobContext, StepFailed
from storage.models import Volume

SHUTDOWN_TIMEOUT = 300


@dataclass
class _Move:
    """What this job did so far: what to undo if it fails before the target runs the domU."""

    copies: dict[str, str]  # source dataset -> target dataset
    snap: str
    received: list[str] = field(default_factory=list)  # target datasets recv was run into
    snapshots: list[str] = field(default_factory=list)  # source snapshots made
    stopped: str = ""  # "shutdown" or "pause": what the downtime did to the source domU
    config_written: bool = False


def _volumes(domain: Domain) -> list[Volume]:
    return [v for v in [domain.volume, *domain.extra_volumes.order_by("dataset")] if v]


def target_dataset(dataset: str, source: Host, target: Host) -> str:
    """The same name under the target's volumes parent (identical when the parents are)."""
    if source.volumes_parent == target.volumes_parent:
        return dataset
    return f"{target.volumes_parent}/{dataset.rsplit('/', 1)[-1]}"


def retarget(text: str, copies: dict[str, str]) -> str:
    """The config with its disk targets moved to the copies (unchanged when names are equal)."""
    for old, new in copies.items():
        if old != new:
            pattern = re.escape(f"/dev/zvol/{old}") + r"(?=[,'\"\s])"
            text = re.sub(pattern, f"/dev/zvol/{new}", text)
    return text


def _preflight(ctx: JobContext, domain: Domain, source: Host, target: Host, move: _Move) -> None:
    text = records.current_text(domain)
    paths = {p.removeprefix("/dev/zvol/") for p in _config_disks(text)}
    foreign = sorted(paths - set(move.copies))
    if foreign:
        raise StepFailed(
            f"{domain.name}'s config uses disks that are not its panel volumes "
            f"({', '.join(foreign)}): they would not travel. Nothing moved."
        )
    for dst in move.copies.values():
        held = Volume.objects.filter(host=target, dataset=dst).exists()
        probe = switch.run_on(ctx, target, commands.zfs_get(dst, ["type"]), "Check", check=False)
        if held or probe.rc == 0:
            raise StepFailed(
                f"{target.name} already has {dst} (a leftover of an earlier migration?): destroy "
                f"it there or pick another host. Nothing moved; {domain.name} stays on "
                f"{source.name}."
            )
    if domain.name in switch.names_on(ctx, target, "Check the name is free"):
        raise StepFailed(f"A domain named {domain.name} runs on {target.name}. Nothing moved.")
    why = switch.clash(domain, target)
    if why:
        raise StepFailed(f"{why} Nothing moved.")


def _config_disks(text: str) -> list[str]:
    values = cfg.summary(cfg.parse(text))
    paths = [values.get("disk_path"), *values.get("extra_disk_paths", [])]  # type: ignore[misc]
    return [p for p in paths if isinstance(p, str) and p]


def migrate(ctx: JobContext, domain: Domain, source: Host, target: Host, downtime: str) -> str:
    volumes = _volumes(domain)
    if not volumes:
        raise StepFailed(f"{domain.name} has no volumes to move. Nothing moved.")
    copies = {v.dataset: target_dataset(v.dataset, source, target) for v in volumes}
    move = _Move(copies=copies, snap=f"migrate-{ctx.job.pk}")
    ctx.progress(3, f"Checking {target.name}")
    transfer.require_access(domain, source, target, "storage")
    _preflight(ctx, domain, source, target, move)
    running = domain.name in switch.names_on(ctx, source, "Check whether it runs")
    ctx.note(
        "How the disks travel",
        f"{transfer.describe(source, target)} ({len(copies)} volume(s)); downtime: "
        + (downtime if running else "none (not running)"),
    )
    text = records.current_text(domain)
    new_text = retarget(text, copies)
    try:
        _copy(ctx, source, target, move, incremental=False)
        if running:
            _downtime(ctx, domain, source, move, downtime)
        _copy(ctx, source, target, move, incremental=True)
        ctx.progress(88, f"Starting on {target.name}")
        switch.write_config(ctx, target, domain.name, new_text)
        move.config_written = True
        ctx.check_cancelled(force=True)  # the last moment a cancel is obeyed
        if running:
            path = cfg.config_path(target.config_dir, domain.name)
            argv = commands.xl_create(path, policy=target.path_policy())
            with transfer.uncancellable(ctx):  # xl create ends known: started, or undone
                switch.run_on(ctx, target, argv, f"Create {domain.name} (xl create)")
    except (Dom0Error, StepFailed, JobCancelled) as exc:
        with transfer.uncancellable(ctx):
            _undo(ctx, domain, source, target, move, exc)
    with transfer.uncancellable(ctx):
        where = "runs" if running else "has its disks and config"
        transfer.past_no_return(ctx, f"{domain.name} {where} on {target.name}")
        return _commit(ctx, domain, source, target, move, new_text, volumes)


def _copy(ctx: JobContext, source: Host, target: Host, move: _Move, *, incremental: bool) -> None:
    snap = f"{move.snap}-final" if incremental else move.snap
    snaps = [f"{ds}@{snap}" for ds in move.copies]
    base, span = (72, 14) if incremental else (5, 60)
    ctx.progress(base, "Snapshotting the volumes")
    switch.run_on(ctx, source, commands.zfs_snapshot(snaps), f"Snapshot every volume @{snap}")
    move.snapshots += snaps
    sizes = [_estimate(ctx, source, s, move.snap if incremental else None) for s in snaps]
    total, done = max(1, sum(sizes)), 0
    for (ds, dst), full_name in zip(move.copies.items(), snaps, strict=True):
        argv = commands.zfs_send(
            full_name, incremental_from=f"@{move.snap}" if incremental else None,
            verbose=True, parsable=True,
        )  # fmt: skip
        if not incremental:
            move.received.append(dst)
        label = f"Sending {ds} ({'incremental' if incremental else 'full'})"

        def report(sent: int, before: int = done, label: str = label) -> None:
            share = min(1.0, (before + sent) / total)
            ctx.progress(base + span * share, f"{label}: {before + sent} of {total} bytes")

        done += _send(ctx, source, target, argv, dst, incremental, report)


def _estimate(ctx: JobContext, source: Host, snap: str, since: str | None) -> int:
    argv = commands.zfs_send(
        snap, incremental_from=f"@{since}" if since else None,
        verbose=True, parsable=True, dry_run=True,
    )  # fmt: skip
    result = switch.run_on(ctx, source, argv, f"Estimate the size of {snap}", check=False)
    try:
        return parsers.parse_zfs_send_estimate(result.stdout).total_bytes if result.ok else 0
    except ParseError:
        return 0


def _send(
    ctx: JobContext,
    source: Host,
    target: Host,
    argv: list[str],
    dst: str,
    incremental: bool,
    report: Callable[[int], None],
) -> int:
    """Send one volume into `zfs recv -s` (transfer.py picks the path); after a broken stream,
    resume once with the receiver's token."""
    recv = commands.zfs_recv(dst, force=incremental)
    try:
        return transfer.send_volume(ctx, source, target, argv, recv, report)
    except (RelayFailed, transfer.TransferFailed) as exc:
        probe = commands.zfs_receive_resume_token(dst)
        got = switch.run_on(ctx, target, probe, "Read the resume token", check=False)
        try:
            token = parsers.parse_receive_resume_token(got.stdout) if got.ok else None
        except ParseError:
            token = None
        if token is None:
            raise
        ctx.note("Resuming the send", f"{exc}; {dst} kept what arrived: sending the rest once")
        resume = commands.zfs_send_resume(token, verbose=True, parsable=True)
        return transfer.send_volume(ctx, source, target, resume, recv, report)


def _downtime(ctx: JobContext, domain: Domain, source: Host, move: _Move, downtime: str) -> None:
    ctx.progress(68, f"Downtime: {downtime} {domain.name} on {source.name}")
    if downtime == "pause":
        switch.run_on(ctx, source, commands.xl_pause(domain.name), f"Pause {domain.name}")
        move.stopped = "pause"
        return
    move.stopped = "shutdown"  # from here the undo checks whether it still runs
    argv = commands.xl_shutdown(domain.name, wait=True)
    try:
        switch.run_on(ctx, source, argv, f"Shut down {domain.name}", timeout=SHUTDOWN_TIMEOUT)
    except Dom0Error as exc:
        raise StepFailed(
            f"{domain.name} did not shut down on {source.name} ({exc.message}). Shut the guest "
            "down from inside, or choose the pause downtime, then migrate again."
        ) from exc


def _undo(
    ctx: JobContext, domain: Domain, source: Host, target: Host, move: _Move, cause: Exception
) -> None:
    """Put the domU back on the source and remove what reached the target; then fail."""
    left: list[str] = []
    where = _restore_source(ctx, domain, source, move, left)
    try:
        if domain.name in switch.names_on(ctx, target, "Check the target"):
            switch.run_on(ctx, target, commands.xl_destroy(domain.name), "Destroy the copy")
        if move.config_written:
            switch.remove_config(ctx, target, domain.name)
    except Dom0Error as exc:
        left.append(f"possibly {domain.name}'s config or domain on {target.name} ({exc.message})")
    for dst in move.received:
        try:
            switch.run_on(ctx, target, commands.zfs_destroy(dst, recursive=True), "Remove copy")
        except DatasetMissing:
            continue
        except Dom0Error:
            left.append(
                f"{dst} on {target.name} (`zfs recv -A {dst}`, then `zfs destroy -r {dst}`)"
            )
    for snap in move.snapshots:
        try:
            switch.run_on(ctx, source, commands.zfs_destroy_snapshot(snap), "Drop snapshot")
        except DatasetMissing:
            continue
        except Dom0Error:
            left.append(f"the snapshot {snap} on {source.name}")
    switch.read_back(ctx, source, target)
    ctx.result(where=source.name if where else "")
    rest = f" Left behind: {'; '.join(left)}." if left else f" Nothing is left on {target.name}."
    if isinstance(cause, JobCancelled):
        ctx.note(
            "Cancelled: undone",
            f"Cancelled by the user before {domain.name} moved. "
            f"{where or 'CHECK: ' + domain.name + ' may not run'}.{rest}",
        )
        raise cause
    reason = cause.message if isinstance(cause, Dom0Error) else str(cause)
    raise StepFailed(
        f"{reason.rstrip('.')}. {where or 'CHECK: ' + domain.name + ' may not run'}.{rest}"
    )


def _restore_source(
    ctx: JobContext, domain: Domain, source: Host, move: _Move, left: list[str]
) -> str:
    """Unpause or start the domU on the source again; say where it runs ('' if nowhere)."""
    try:
        running = domain.name in switch.names_on(ctx, source, "Check the source")
        if move.stopped == "pause" and running:
            switch.run_on(ctx, source, commands.xl_unpause(domain.name), "Unpause")
        elif move.stopped == "shutdown" and not running:
            path = cfg.config_path(source.config_dir, domain.name)
            argv = commands.xl_create(path, policy=source.path_policy())
            switch.run_on(ctx, source, argv, f"Start {domain.name} again")
            running = True
    except Dom0Error as exc:
        left.append(f"{domain.name} could not be restarted on {source.name} ({exc.message})")
        return ""
    state = "runs" if running else "stays stopped (as before)"
    return f"{domain.name} {state} on {source.name}, from its volumes there"


def _commit(
    ctx: JobContext,
    domain: Domain,
    source: Host,
    target: Host,
    move: _Move,
    text: str,
    volumes: list[Volume],
) -> str:
    """The target has the domU: move the record first, then tidy the source; never undo now.

    Runs uncancellable: a cancel here would leave the record on the source while the domU runs
    on the target. A failure to tidy is a note, not a failure of the move.
    """
    with transaction.atomic():
        mapping = {}
        for volume in volumes:
            mapping[volume.pk] = Volume.objects.create(
                host=target, dataset=move.copies[volume.dataset], size_bytes=volume.size_bytes,
                sparse=volume.sparse, state=Volume.State.READY, owner=volume.owner,
                team=volume.team,
            )  # fmt: skip
        switch.switch_copied(domain, target, mapping, text)
    ctx.result(where=target.name, superseded=sorted(mapping))
    notes: list[str] = []
    # Its snapshots stay on the source copies (zfs send sent only the migration's own): the
    # panel's records of them would roll back disks the domU no longer runs from.
    left = list(domain.snapshots.values_list("name", flat=True))
    if left:
        domain.snapshots.all().delete()
        notes.append(
            f"its snapshots ({', '.join(left)}) stay with the source copies on {source.name} "
            "and are no longer listed; they go when you clean up"
        )
    warning = ""  # said in the job's summary too: a second (paused) copy must not go unnoticed
    if move.stopped == "pause":
        try:
            switch.run_on(ctx, source, commands.xl_destroy(domain.name), "Destroy the paused copy")
        except Dom0Error as exc:
            warning = (
                f" WARNING: its paused copy is still on {source.name}: run "
                f"`xl destroy {domain.name}` there (it failed: {exc.message.rstrip('.')})."
            )
            notes.append(f"the paused copy on {source.name} is still there: `xl destroy` it")
    try:
        switch.remove_config(ctx, source, domain.name)
    except Dom0Error as exc:
        notes.append(f"its old config file is still on {source.name} ({exc})")
    for dst in move.copies.values():
        for snap in (move.snap, f"{move.snap}-final"):
            try:
                switch.run_on(
                    ctx, target, commands.zfs_destroy_snapshot(f"{dst}@{snap}"), "Drop a snapshot"
                )
            except Dom0Error:
                notes.append(f"{dst}@{snap} on {target.name}")
    switch.read_back(ctx, source, target)
    transfer.note_ignored_cancel(
        ctx,
        f"{domain.name} was already on {target.name} when the cancel came: the panel shows "
        "it there, and the source was tidied up as after any migration.",
    )
    kept = ", ".join(v.dataset for v in volumes)
    summary = (
        f"{domain.name} moved to {target.name} with its disks; the source copies ({kept}) stay "
        f"on {source.name} until you clean them up.{warning}"
    )
    if notes:
        ctx.note("Left to tidy", "; ".join(notes))
    return summary
