"""Finish an install (eject the ISO, boot from disk) and insert or eject an ISO."""

from dom0 import commands
from domains import actions, cfg, records
from domains.jobs.common import (
    destroy_if_present,
    finish,
    load_domain,
    reads_back,
    run,
    set_fields,
    write_config,
    xl_create,
)
from domains.jobs.create import check_kernel
from domains.models import GuestType
from jobs.context import JobContext, StepFailed
from jobs.registry import job_kind
from storage.models import IsoImage


@job_kind(actions.FINISH_INSTALL)
@reads_back
def finish_install(ctx: JobContext) -> str:
    """Handbook B6: the cdrom is already gone from the new config version; re-create the domU."""
    domain = load_domain(ctx)
    if domain.guest_type == GuestType.PVH:
        # Before the installer run is destroyed: a missing kernel must not leave it stopped.
        check_kernel(
            ctx,
            domain,
            outcome="nothing was changed on the host (the installer run goes on)",
            then="or edit its kernel path, then Finish install again",
        )
    ctx.progress(15, "Writing the config without the cdrom")
    path = write_config(ctx, domain)
    ctx.progress(35, "Destroying the installer run")
    destroy_if_present(ctx, domain)
    ctx.progress(60, "Creating it from its own disk")
    xl_create(ctx, domain, path)
    # Started from its file again: whatever the edit page left pending is now in effect.
    set_fields(domain, should_run=True, restart_pending=False)
    records.release_detached(domain)
    return finish(ctx, domain, "re-created from its own disk")


@job_kind(actions.CD_INSERT)
@reads_back
def cd_insert(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    iso = IsoImage.objects.select_related("host").filter(pk=ctx.job.params.get("iso_id")).first()
    if iso is None or iso.host_id != domain.host_id:
        raise StepFailed("That ISO image is no longer in this host's library.")
    argv = commands.xl_cd_insert(
        domain.name, cfg.CDROM_VDEV, iso.path, policy=domain.host.path_policy()
    )
    run(ctx, argv, f"Insert {iso.file_name} (xl cd-insert)")
    return finish(ctx, domain, f"has {iso.file_name} in its cdrom")


@job_kind(actions.CD_EJECT)
@reads_back
def cd_eject(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    run(ctx, commands.xl_cd_eject(domain.name, cfg.CDROM_VDEV), "Eject the cdrom (xl cd-eject)")
    return finish(ctx, domain, "has an empty cdrom")
