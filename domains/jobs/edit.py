"""Apply an edit: make its new volumes, apply what Xen can change on the running domU, grow a
volume (`zfs set volsize=`, never smaller)."""

from __future__ import annotations

from typing import Any

from dom0 import commands
from dom0.errors import CommandFailed, Dom0Error
from dom0.xlcfg import DomainConfig
from domains import actions, cfg, records
from domains.editing import changes
from domains.jobs.common import find, finish, load_domain, reads_back, run, set_fields, write_config
from domains.jobs.create import check_kernel
from domains.models import Domain, DomainConfigVersion, GuestType
from jobs.context import JobContext, StepFailed
from jobs.registry import job_kind
from storage.models import Volume


@job_kind(actions.APPLY)
@reads_back
def apply(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    params = ctx.job.params
    for volume in Volume.objects.filter(pk__in=params.get("new_volume_ids") or []):
        _make_volume(ctx, domain, volume)
    if domain.guest_type == GuestType.PVH:
        _warn_kernel(ctx, domain)
    if not params.get("live"):
        return finish(ctx, domain, "has its new volume; the rest takes effect at its next start")
    old, new = _config(domain, params.get("from")), _config(domain, params.get("to"))
    if find(ctx, domain) is None:
        set_fields(domain, restart_pending=False)
        records.release_detached(domain)
        return finish(ctx, domain, "is not running: it starts with the new config")
    plan = changes.plan(old, new)
    done: list[str] = []
    try:
        for change in plan.live:
            ctx.progress(30 + 50 * len(done) // max(1, len(plan.live)), change.what)
            _apply(ctx, domain, new, change)
            done.append(change.what)
    except (Dom0Error, StepFailed) as exc:
        set_fields(domain, restart_pending=True)
        records.release_detached(domain, _unplugged(old, plan, done))
        left = [c.what for c in plan.changes if c.what not in done]
        raise StepFailed(
            f"{exc} — applied to the running {domain.name}: {', '.join(done) or 'nothing'}; "
            f"not applied: {', '.join(left)}. The config version is saved, so everything "
            "takes effect at its next start (restart pending)."
        ) from exc
    records.release_detached(domain, _unplugged(old, plan, done))
    write_config(ctx, domain)  # the file on the host says what the domU now runs with
    latest = records.current_version(domain)
    newer = latest is not None and latest.number != params.get("to")
    if plan.later or not params.get("clears_pending") or newer:
        # A later edit saved meanwhile (not applied live) is still pending.
        set_fields(domain, restart_pending=True)
    else:
        set_fields(domain, restart_pending=False)
    return finish(ctx, domain, f"changed live ({'; '.join(done) or 'nothing to change'})")


def _unplugged(old: DomainConfig, plan: changes.Plan, done: list[str]) -> list[str]:
    """Return the datasets of the disks this job's `xl block-detach` steps unplugged."""
    vdevs = {c.arg for c in plan.live if c.op == changes.BLOCK_DETACH and c.what in done}
    return [
        d.target.removeprefix("/dev/zvol/")
        for d in old.disks
        if d.vdev in vdevs and d.target.startswith("/dev/zvol/")
    ]


def _warn_kernel(ctx: JobContext, domain: Domain) -> None:
    """A PVH domU's next start boots the kernel its config names: say so now if it is missing.

    Nothing here starts the domU, so the edit is not refused; the start would be.
    """
    try:
        check_kernel(ctx, domain, outcome="the edit is saved, but its next start will fail")
    except StepFailed as exc:
        ctx.note("PVH kernel missing", str(exc))


def _config(domain: Domain, number: Any) -> DomainConfig:
    version = DomainConfigVersion.objects.filter(domain=domain, number=number).first()
    if version is None:
        raise StepFailed(f"Version {number} of {domain.name}'s config is gone.")
    return cfg.parse(version.text, source=f"version {number}")


def _apply(ctx: JobContext, domain: Domain, new: DomainConfig, change: changes.Change) -> None:
    name, policy = domain.name, domain.host.path_policy()
    if change.op == changes.MEM_SET:
        run(ctx, commands.xl_mem_set(name, int(change.arg)), f"Set memory to {change.arg} MiB")
    elif change.op == changes.VCPU_SET:
        run(ctx, commands.xl_vcpu_set(name, int(change.arg)), f"Set vCPUs to {change.arg}")
    elif change.op == changes.BLOCK_ATTACH:
        disk = next(d for d in new.disks if d.vdev == change.arg)
        run(ctx, commands.xl_block_attach(name, disk, policy=policy), f"Attach {disk.target}")
    elif change.op == changes.BLOCK_DETACH:
        run(ctx, commands.xl_block_detach(name, change.arg), f"Detach disk {change.arg}")
    elif change.op == changes.NETWORK_ATTACH:
        vif = next(v for v in new.vifs if (v.mac or "").lower() == change.arg)
        run(ctx, commands.xl_network_attach(name, vif), f"Add NIC {change.arg}")
    elif change.op == changes.NETWORK_DETACH:
        run(ctx, commands.xl_network_detach(name, change.arg), f"Remove NIC {change.arg}")
    elif change.op == changes.CD_INSERT:
        disk = next(d for d in new.disks if d.vdev == change.arg)
        argv = commands.xl_cd_insert(name, change.arg, disk.target, policy=policy)
        run(ctx, argv, f"Insert {disk.target} (xl cd-insert)")
    elif change.op == changes.CD_EJECT:
        run(ctx, commands.xl_cd_eject(name, change.arg), "Eject the cdrom (xl cd-eject)")


def _make_volume(ctx: JobContext, domain: Domain, volume: Volume) -> None:
    """Make a volume the edit added; if zfs refuses, say what the config now names."""
    if volume.state == Volume.State.READY:
        ctx.note("Volume already made", volume.dataset)
        return
    argv = commands.zfs_create_volume(volume.dataset, volume.size_bytes, sparse=volume.sparse)
    try:
        run(ctx, argv, f"Create volume {volume.dataset}")
    except CommandFailed as exc:
        Volume.objects.filter(pk=volume.pk).update(state=Volume.State.FAILED)
        set_fields(domain, restart_pending=domain.is_present)
        raise StepFailed(
            f"{exc} — the volume {volume.dataset} was not made on {domain.host.name}, but "
            f"{domain.name}'s config names it, so a start would fail. Edit the domU and detach "
            "it (or restore the previous config version), or remove the failed volume and add "
            "a new one."
        ) from exc
    Volume.objects.filter(pk=volume.pk).update(state=Volume.State.READY)
    volume.state = Volume.State.READY


@job_kind(actions.VOLUME_GROW)
@reads_back
def volume_grow(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    volume = Volume.objects.filter(pk=ctx.job.params.get("volume_id")).first()
    if volume is None:
        raise StepFailed("That volume is no longer in the panel.")
    size = int(ctx.job.params.get("size_bytes") or 0)
    if size <= volume.size_bytes:
        raise StepFailed(
            f"{volume.dataset} is already {volume.size_human}; the panel never shrinks a volume "
            "(that would cut off the end of the guest's disk). Nothing was changed."
        )
    argv = commands.zfs_set_volsize(volume.dataset, size)
    run(ctx, argv, f"Grow {volume.dataset} (zfs set volsize)")
    Volume.objects.filter(pk=volume.pk).update(size_bytes=size)
    ctx.note(
        "Inside the guest",
        f"{volume.dataset} is now {Volume(size_bytes=size).size_human}. The guest sees the new "
        "size after its next start (or a disk rescan); then grow its partition and file system "
        "there (FreeBSD: gpart recover, gpart resize, growfs or zpool online -e).",
    )
    return finish(ctx, domain, f"has {volume.dataset} grown")
