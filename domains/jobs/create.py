"""Create a domU: its volume (when new), its config file, `xl create`."""

from django.db import transaction

from dom0 import commands
from dom0.errors import DatasetExists, Dom0Error
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
from domains.models import Domain
from jobs.choices import StepStatus
from jobs.context import JobContext, StepFailed
from jobs.registry import job_kind
from storage.jobs.volumes import list_volumes
from storage.models import Volume


@job_kind(actions.CREATE)
@reads_back
def create(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    ctx.progress(5, "Checking the host's config directory")
    _refuse_foreign_config(ctx, domain)
    volume = domain.volume
    if ctx.job.params.get("new_volume") and volume is not None:
        ctx.progress(10, f"Creating volume {volume.dataset}")
        _create_volume(ctx, domain, volume)
    ctx.progress(35, "Writing the config")
    path = write_config(ctx, domain)
    if ctx.redelivered and find(ctx, domain) is not None:
        ctx.note("Already created", f"{domain.name} is in xl list (this job was redelivered)")
    else:
        ctx.progress(55, "xl create")
        xl_create(ctx, domain, path)
    set_fields(domain, should_run=True)
    return finish(ctx, domain, "created")


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
    if volume.state == Volume.State.READY:
        ctx.note("Volume already made", volume.dataset)
        return
    argv = commands.zfs_create_volume(volume.dataset, volume.size_bytes, sparse=volume.sparse)
    # Steps an earlier delivery of this job ran (recorded before this one's own steps).
    earlier = list(ctx.job.steps.filter(argv=argv).values_list("status", flat=True))
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
    except Dom0Error:
        _forget_volume(volume)
        raise
    # From here on the volume exists: it stays listed (READY) whatever happens next.
    Volume.objects.filter(pk=volume.pk).update(state=Volume.State.READY)


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
    Domain.objects.filter(volume=volume).update(volume=None)
    Volume.objects.filter(pk=volume.pk, state=Volume.State.CREATING).delete()


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
