"""Roll a stopped domU back to a snapshot: its disks (`zfs rollback -r`, one volume at a time)
and its config of that moment (a new config version, so history, diff and restore keep working).

Nothing another domU has now is taken back: a disk of the snapshot that is now another domU's is
refused before anything changes, MACs now held elsewhere get fresh ones, PCI devices now in
another domU's config are left out (see claims.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from dom0 import commands, parsers
from dom0.errors import Dom0Error, ParseError
from domains import cfg, records
from domains.jobs.common import find, run, set_fields, write_config
from domains.models import Domain, DomainSnapshot
from domains.snapshots import claims, logic, steps
from jobs.context import JobContext, StepFailed
from storage.models import Volume


def roll_back(ctx: JobContext, domain: Domain, snap: DomainSnapshot) -> str:
    """Roll back every volume of `snap` that still exists, then restore its config."""
    if snap.state != DomainSnapshot.State.READY:
        raise StepFailed(f"@{snap.name} is {snap.get_state_display().lower()}, not ready.")
    for password in cfg.passwords(snap.config_text):
        ctx.secret(password)  # the config of that moment brings its VNC password back to life
    refused = claims.refusal(domain, snap, ctx.job.requested_by)
    if refused:
        raise StepFailed(refused)
    row = find(ctx, domain, "Check the domU is not running (xl list)")
    if row is not None:
        raise StepFailed(
            f"{domain.name} is running (domain {row['domid']} in xl list): rolling its disks "
            "back under a running guest would corrupt them. Shut it down, then roll back; "
            "nothing was rolled back."
        )
    existing = steps.existing_volumes(ctx)
    here = [d for d in snap.datasets if d in existing]
    gone = [d for d in snap.datasets if d not in existing]
    if not here:
        raise StepFailed(
            f"None of the volumes of @{snap.name} exists any more ({', '.join(gone)}); "
            "there is nothing to roll back."
        )
    listing = steps.list_snapshots(ctx, here)
    missing = logic.missing_on_host(listing, snap.name, here)
    if missing:
        raise StepFailed(
            f"@{snap.name} is not on {', '.join(missing)} any more (destroyed outside the "
            "panel?); nothing was rolled back."
        )
    later = {d: logic.later_on_host(listing, d, snap.name) for d in here}
    refused = claims.template_refusal(snap, later)
    if refused:
        raise StepFailed(refused)
    ctx.note("Plan: one zfs rollback -r per volume", _plan(snap.name, here, gone, later))
    ctx.check_cancelled(force=True)  # from here on the volumes are rolled back all together
    _roll_each(ctx, snap.name, here)
    _forget_later(domain, later)
    words = [f"rolled back to @{snap.name} ({len(here)} volume(s))"]
    words += _read_sizes(ctx, domain, here)
    words += _restore_config(ctx, domain, snap, existing)
    if gone:
        words.append(f"volume(s) gone since the snapshot: {', '.join(gone)}")
    return "; ".join(words)


def _plan(name: str, here: Sequence[str], gone: Sequence[str], later: dict[str, list[str]]) -> str:
    lines = [
        "zfs rolls back one snapshot per command, so each volume is rolled back on its own, "
        "in this order. If one fails half-way, the volumes before it are already rolled back "
        "and the ones after it are not; the job says which.",
    ]
    for dataset in here:
        destroyed = ", ".join(f"@{s}" for s in later[dataset]) or "none"
        lines.append(f"  {dataset}@{name}: later snapshots destroyed (-r): {destroyed}")
    if gone:
        lines.append(f"Not rolled back (the volume no longer exists): {', '.join(gone)}")
    return "\n".join(lines)


def _roll_each(ctx: JobContext, name: str, datasets: Sequence[str]) -> None:
    done: list[str] = []
    for i, dataset in enumerate(datasets):
        ctx.progress(30 + 40 * i // len(datasets), f"Rolling back {dataset}")
        argv = commands.zfs_rollback(f"{dataset}@{name}", destroy_later=True)
        try:
            # Not cancellable half-way: a cancel would leave disks from two moments.
            steps.run_always(ctx, argv, f"Roll back {dataset} to @{name} (zfs rollback -r)")
        except Dom0Error as exc:
            raise StepFailed(
                f"Rolling back {dataset} failed: {exc}. Already rolled back: "
                f"{', '.join(done) or 'none'}; not rolled back: {', '.join(datasets[i:])}. "
                "The config was left as it is. Its disks may now be from different moments: "
                "roll back again before starting it."
            ) from exc
        done.append(dataset)


def _forget_later(domain: Domain, later: dict[str, list[str]]) -> None:
    """Drop the records of snapshots `-r` destroyed (keep a part on a volume not rolled back).

    Any domU's records of the host: a volume that was another domU's before it came to this
    one carries that domU's snapshots too.
    """
    names = {name for names in later.values() for name in names}
    rows = DomainSnapshot.objects.filter(
        domain__host=domain.host_id, name__in=names, state=DomainSnapshot.State.READY
    )
    for snap in rows:
        left = [d for d in snap.datasets if snap.name not in later.get(d, [])]
        if left == list(snap.datasets):
            continue  # none of its volumes was rolled back
        if left:
            note = f"Partly destroyed by a rollback; still on {', '.join(left)}"
            DomainSnapshot.objects.filter(pk=snap.pk).update(datasets=left, note=note[:200])
        else:
            snap.delete()


def _read_sizes(ctx: JobContext, domain: Domain, datasets: Sequence[str]) -> list[str]:
    """Read each volume's size back: the rollback restores the volsize of that moment."""
    changed = []
    for dataset in datasets:
        try:
            result = run(ctx, commands.zfs_get(dataset, ["volsize"]), f"Read the size of {dataset}")
            size = int(parsers.parse_zfs_get(result.stdout).get("volsize") or "")
        except (Dom0Error, ValueError) as exc:
            ctx.note(
                f"Size of {dataset} not read",
                f"{exc}. The panel still shows the size {dataset} had before the rollback, "
                "which may be larger than it is now.",
            )
            continue
        rows = Volume.objects.filter(host=domain.host_id, dataset=dataset).exclude(size_bytes=size)
        if rows.update(size_bytes=size):
            changed.append(f"{dataset} is {size} bytes again")
    return [f"size(s) of that moment: {', '.join(changed)}"] if changed else []


def _restore_config(
    ctx: JobContext, domain: Domain, snap: DomainSnapshot, existing: set[str]
) -> list[str]:
    """Make the snapshot's config the current version and write it to the host."""
    if not snap.config_text:
        ctx.note("Config", "No config was stored with this snapshot; the current one stays.")
        return ["config unchanged (none stored with the snapshot)"]
    restored = claims.restorable(domain, snap.config_text, ctx.job.requested_by)
    text, words = restored.text, _changes(ctx, domain, restored)
    current = records.current_version(domain)
    if current is not None and current.text == text:
        ctx.note("Config", f"The config is as it was at the snapshot (version {current.number}).")
        said = f"config unchanged (version {current.number})"
    else:
        note = f"Rolled back to snapshot {snap.name}"
        if words:
            note += f" ({'; '.join(words)})"
        version = records.add_version(domain, text, author=ctx.job.requested_by, note=note)
        said = f"config of that moment restored as version {version.number}"
    write_config(ctx, domain)
    # Not running (checked above): the next start uses this config, nothing is pending.
    set_fields(domain, restart_pending=False)
    words.insert(0, said)
    try:
        cfg.parse(text)
    except ParseError as exc:
        ctx.note("Config", f"The stored config does not parse ({exc}); its disks are unchecked.")
        return words
    zvols = claims.config_datasets(text)
    absent = [d for d in zvols if d not in existing]
    if absent:
        ctx.note(
            "The config names volumes that no longer exist",
            f"{', '.join(absent)}: {domain.name} will not start until they exist again or the "
            "config no longer names them (edit it, or restore another version).",
        )
        words.append(f"the config names volume(s) that no longer exist: {', '.join(absent)}")
    return words


def _changes(ctx: JobContext, domain: Domain, restored: claims.Restored) -> list[str]:
    """Say what the restored config leaves out of that moment because another domU has it."""
    words = []
    if restored.macs:
        ctx.note(
            "New MACs for NICs whose MAC another domU has now",
            f"{', '.join(restored.macs)}: another domU of the panel has these MACs now (MACs "
            f"are unique across the panel), so those NICs of {domain.name} get new MACs in the "
            "restored config. A guest that pins its network to the old MAC needs updating.",
        )
        words.append(f"new MACs instead of {', '.join(restored.macs)}")
    if restored.pci:
        held = "; ".join(f"{b} (now {', '.join(n)})" for b, n in restored.pci.items())
        ctx.note(
            "PCI devices left out",
            f"{held}: another domU's config names these devices now, so the restored config of "
            f"{domain.name} leaves them out. Give them back from the domU page once the other "
            "domU no longer has them.",
        )
        words.append(f"PCI device(s) left out: {', '.join(restored.pci)}")
    return words
