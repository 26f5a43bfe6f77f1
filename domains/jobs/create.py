"""Create a domU: its volume (when new), its config file, `xl create`."""

from django.db import transaction

from dom0 import commands
from dom0.errors import (
    CommandFailed,
    CommandTimeout,
    DatasetExists,
    Dom0Error,
    HostUnreachable,
    ValidationError,
)
from domains import actions, cfg
from domains.jobs.common import (
    find,
    finish,
    load_domain,
    reads_back,
    run,
    set_fields,
    write_config,
    xl_create,
)
from domains.models import Domain, GuestType
from jobs.choices import StepStatus
from jobs.context import JobCancelled, JobContext, StepFailed
from jobs.enqueue import Target, add_targets
from jobs.registry import job_kind
from storage.jobs.volumes import ON_HOST_UNKNOWN, list_volumes
from storage.models import Volume


@job_kind(actions.CREATE)
@reads_back
def create(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    volume = domain.volume if ctx.job.params.get("new_volume") else None
    ctx.progress(5, "Checking the host's config directory")
    try:
        _refuse_foreign_config(ctx, domain)
    except Dom0Error:
        if volume is not None:
            _settle_before_create(ctx, domain, volume)
        raise
    if domain.guest_type == GuestType.PVH:
        try:
            check_kernel(ctx, domain)
        except StepFailed:
            if volume is not None:
                _settle_before_create(ctx, domain, volume)
            raise
    if volume is not None:
        ctx.progress(10, f"Creating volume {volume.dataset}")
        _create_volume(ctx, domain, volume)
    ctx.progress(35, "Writing the config")
    path = write_config(ctx, domain)
    if ctx.redelivered and find(ctx, domain) is not None:
        ctx.note("Already created", f"{domain.name} is in xl list (this job was redelivered)")
    else:
        ctx.progress(55, "xl create")
        xl_create(ctx, domain, path)
    # Created from its file: nothing of an earlier config is pending.
    set_fields(domain, should_run=True, restart_pending=False)
    return finish(ctx, domain, "created")


def check_kernel(
    ctx: JobContext,
    domain: Domain,
    *,
    outcome: str = "nothing was created",
    then: str = "then Start it; or delete it and create it as HVM",
) -> None:
    """A PVH domU boots the kernel its config names: fail, changing nothing, if it is not there.

    Create, Start, Finish install (and, as a warning, an applied edit) ask before `xl create`,
    whose own error would not say which file is missing.
    """
    path = domain.kernel
    with ctx.step(f"Check that the PVH kernel {path or '(none)'} is on the host") as record:
        found = ctx.transport.stat(path) if path else None
        record.output = "found" if found is not None else "no such file"
    if found is None:
        raise StepFailed(
            f"{domain.name} is a PVH domU, which boots the kernel its config names, but "
            f"{path or 'no kernel'} is not on {domain.host.name}: {outcome}. Copy a "
            "PVH-capable kernel or PVH boot loader (e.g. GRUB's grub-i386-xen_pvh.bin) there, "
            f"{then}."
        )


def _refuse_foreign_config(ctx: JobContext, domain: Domain) -> None:
    """Fail, changing nothing, if the host has a config file of that name the panel did not write.

    The panel's config directory is the handbook's own (/usr/local/etc/xen), where people keep
    hand-written configs; writing ours would silently replace one.
    """
    host = domain.host
    path = cfg.config_path(host.config_dir, domain.name)
    with ctx.step(f"Check that {path} is free") as record:
        if ctx.transport.stat(path) is None:
            record.output = "no such file"
            return
        text = ctx.transport.read_file(path).decode("utf-8", "replace")
        if cfg.is_panel_file(text, domain.versions.values_list("text", flat=True)):
            record.output = "a config the panel wrote; it will be replaced"
            return
        # Not a word of the file in the log: it may hold another domU's VNC password.
        record.output = "a config the panel did not write; left untouched"
        name = domain.name
        _drop_domain(domain)
        raise StepFailed(
            f"{path} already exists on {host.name} and was not written by the panel; nothing "
            f"was changed on the host and {name} was removed from the panel. To manage that "
            f"domU here, start it (xl create {path}) and import it from the host's page; "
            "otherwise choose another name."
        )


def _create_volume(ctx: JobContext, domain: Domain, volume: Volume) -> None:
    """Make the domU's new volume; whatever happens, its row ends made, failed or gone.

    Nothing made on the host (the size refused before any command, `zfs create` refused, the
    host silent before it was sent): the row is forgotten. `zfs create` sent but its answer lost
    (the host stopped answering, a timeout): the host is asked; if it cannot say, the row is
    marked failed with what may exist there. Every outcome is written in the job's log.
    """
    if volume.state == Volume.State.READY:
        ctx.note("Volume already made", volume.dataset)
        return
    host = domain.host
    if volume.state == Volume.State.FAILED and _adopt_earlier_attempt(ctx, domain, volume):
        return
    try:
        argv = commands.zfs_create_volume(volume.dataset, volume.size_bytes, sparse=volume.sparse)
    except ValidationError as exc:
        _forget_volume(volume)
        message = (
            f"The new volume {volume.dataset} ({volume.size_human}) was refused before anything "
            f"ran: {exc.rule}. Nothing was made on {host.name}; the panel forgot the volume."
        )
        ctx.note("Volume not made", message)
        raise StepFailed(message) from exc
    # Steps an earlier delivery of this job ran (recorded before this one's own steps).
    earlier = list(ctx.job.steps.filter(argv=argv).values_list("status", flat=True))
    Volume.objects.filter(pk=volume.pk).update(state=Volume.State.CREATING)
    try:
        run(ctx, argv, f"Create volume {volume.dataset}")
    except DatasetExists as exc:
        if not (ctx.redelivered and _made_by_this_job(ctx, volume, earlier)):
            name = domain.name
            _drop_domain(domain)
            raise DatasetExists(
                f"The ZFS dataset {volume.dataset} already exists on {domain.host.name} and this "
                f"job did not make it; the panel left it alone and removed {name}, so nothing "
                "boots on a disk it does not own. To use that volume, import it (Volumes → "
                "Scan) and create the domU on it as an existing disk; or choose another name.",
                argv=exc.argv,
                rc=exc.rc,
                stderr=exc.stderr,
            ) from exc
        ctx.note("Volume exists", "made by the first delivery of this job")
    except (HostUnreachable, CommandTimeout):
        _settle_unknown(ctx, domain, volume)
        raise
    except CommandFailed:
        # zfs answered and refused: nothing was made.
        _forget_volume(volume)
        ctx.note(
            "Volume not made",
            f"zfs refused to create {volume.dataset}; nothing was made on {host.name}. "
            "The panel forgot the volume.",
        )
        raise
    except JobCancelled:
        # Stopped before `zfs create` ran (a cancel is looked at before each command): the
        # row stays as the form made it, like a create cancelled while queued.
        raise
    except BaseException:
        _settle_unknown(ctx, domain, volume)
        raise
    # From here on the volume exists: it stays listed (READY) whatever happens next.
    Volume.objects.filter(pk=volume.pk).update(state=Volume.State.READY)
    volume.state = Volume.State.READY


def _settle_before_create(ctx: JobContext, domain: Domain, volume: Volume) -> None:
    """The job failed before its volume step: settle the row the form made for the volume."""
    state = Volume.objects.filter(pk=volume.pk).values_list("state", flat=True).first()
    if state != Volume.State.CREATING:
        return  # made already, or failed by an earlier attempt (its note says what may exist)
    if ctx.redelivered and ctx.job.steps.filter(label=f"Create volume {volume.dataset}").exists():
        # An earlier delivery of this job sent `zfs create`: the host must say what it made.
        _settle_unknown(ctx, domain, volume)
        return
    _forget_volume(volume)
    ctx.note(
        "Volume not made",
        f"The job stopped before `zfs create`: nothing of {volume.dataset} was made on "
        f"{domain.host.name}. The panel forgot the volume.",
    )


def _settle_unknown(ctx: JobContext, domain: Domain, volume: Volume) -> None:
    """`zfs create` may or may not have run: ask the host, else mark the volume failed."""
    host = domain.host
    try:
        row = list_volumes(ctx, host).get(volume.dataset)
    except (Dom0Error, JobCancelled):
        Volume.objects.filter(pk=volume.pk).update(state=Volume.State.FAILED)
        volume.state = Volume.State.FAILED
        if not ctx.job.targets.filter(role="volume").exists():
            add_targets(ctx.job, [Target("volume", volume)])  # its page shows this job
        ctx.result(volume_on_host=ON_HOST_UNKNOWN)
        ctx.note(
            "Volume state unknown",
            f"`zfs create` was sent to {host.name} but no answer came back, and the host cannot "
            f"be asked now: {volume.dataset} may or may not exist there. The panel marked the "
            "volume failed: it takes nothing from the quota; Retry checks the host first; "
            "Remove forgets the row (scan the host's volumes later to find what is there).",
        )
        return
    if row is None:
        _forget_volume(volume)
        ctx.note(
            "Volume not made",
            f"{volume.dataset} is not on {host.name}: nothing was made. "
            "The panel forgot the volume.",
        )
        return
    Volume.objects.filter(pk=volume.pk).update(state=Volume.State.READY)
    volume.state = Volume.State.READY
    ctx.note("Volume made", f"{volume.dataset} exists on {host.name}; it stays in the panel.")


def _adopt_earlier_attempt(ctx: JobContext, domain: Domain, volume: Volume) -> bool:
    """A retry of a create whose `zfs create` went unanswered: use the volume if it was made.

    True if the dataset is there with exactly the size and reservation asked for (it is the
    one the earlier attempt made); False if it is not there (make it now). A dataset of another
    size is not the panel's: the create fails and leaves it alone.
    """
    host = domain.host
    row = list_volumes(ctx, host).get(volume.dataset)
    if row is None:
        ctx.note("Volume not on the host", f"the earlier attempt did not make {volume.dataset}")
        return False
    matches = row.volsize == volume.size_bytes and (
        row.refreservation is None or (row.refreservation == 0) == volume.sparse
    )
    if not matches:
        raise StepFailed(
            f"{volume.dataset} exists on {host.name} but not with the size and reservation "
            "asked for, so the panel did not make it and left it alone. Remove this volume "
            "from the panel, then import that dataset or choose another name."
        )
    Volume.objects.filter(pk=volume.pk).update(state=Volume.State.READY)
    volume.state = Volume.State.READY
    ctx.note("Volume exists", f"an earlier attempt made {volume.dataset}; it is used as is")
    return True


def _made_by_this_job(ctx: JobContext, volume: Volume, earlier: list[str]) -> bool:
    """Say whether an existing dataset is the one this job's first delivery made.

    `zfs create` here takes no user property to tag it with, so the proof is the job's own step
    log: an earlier delivery ran this exact `zfs create` (and it did not fail: it succeeded or the
    worker died during it), the panel's row was never settled by anyone else, and the dataset has
    exactly the size and reservation asked for.
    """
    if not any(status != StepStatus.FAILED for status in earlier):
        ctx.note("Not ours", "no earlier delivery of this job ran zfs create for it")
        return False
    if volume.state != Volume.State.CREATING:
        ctx.note("Not ours", f"the panel's row for it is {volume.get_state_display().lower()}")
        return False
    row = list_volumes(ctx, volume.host).get(volume.dataset)
    if row is None or row.volsize != volume.size_bytes:
        ctx.note("Not ours", "its size is not the size this job asked for")
        return False
    if row.refreservation is not None and (row.refreservation == 0) != volume.sparse:
        ctx.note("Not ours", "its reservation does not match what this job asked for")
        return False
    return True


def _forget_volume(volume: Volume) -> None:
    """Nothing was made on the host: drop the row the form created for it."""
    unmade = (Volume.State.CREATING, Volume.State.FAILED)
    with transaction.atomic():
        Domain.objects.filter(volume=volume).update(volume=None)
        Volume.objects.filter(pk=volume.pk, state__in=unmade).delete()


def _drop_domain(domain: Domain) -> None:
    """Remove a domU that was never made (and its never-made volume) from the panel.

    Its config names a disk or file that is not the panel's; a row left behind would offer a
    Start that boots on it.
    """
    volume_id = domain.volume_id
    with transaction.atomic():
        Domain.objects.filter(pk=domain.pk).delete()
        if volume_id is not None:
            Volume.objects.filter(pk=volume_id, state=Volume.State.CREATING).delete()
