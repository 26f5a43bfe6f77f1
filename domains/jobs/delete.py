"""Delete a domU: destroy it if it runs, remove its config, optionally its volume."""

from dom0.errors import RemoteFileMissing
from domains import actions, cfg
from domains.jobs.common import destroy_if_present, load_domain, read_back, set_fields
from domains.models import Domain
from jobs.context import JobContext
from jobs.registry import job_kind
from storage.jobs.volumes import destroy_dataset
from storage.models import Volume


@job_kind(actions.DELETE)
def delete(ctx: JobContext) -> str:
    """Destroy the domU, remove its config and (if asked) its volume; safe to run again."""
    domain = load_domain(ctx)
    set_fields(domain, should_run=False)
    ctx.progress(20, "Destroying")
    destroy_if_present(ctx, domain)
    path = cfg.config_path(domain.host.config_dir, domain.name)
    gone = []
    if _remove_config(ctx, domain, path):
        gone.append(f"config {path}")
    volume = domain.volume
    drop_volume = volume is not None and (
        ctx.job.params.get("destroy_volume") or volume.state == Volume.State.CREATING
    )
    if volume is not None and drop_volume:
        if volume.state == Volume.State.CREATING:
            # Its create never got to `zfs create` (cancelled while queued): whatever has that
            # name on the host is not the panel's to destroy.
            ctx.note("Volume never made", f"{volume.dataset}: only the panel's row is removed")
        else:
            ctx.progress(60, f"Destroying volume {volume.dataset}")
            if destroy_dataset(ctx, volume):
                gone.append(f"volume {volume.dataset}")
    extra = _extra_volumes(domain) if ctx.job.params.get("destroy_volume") else []
    for other in extra:
        if other.state == Volume.State.CREATING:
            # Its job never got to `zfs create` (cancelled): only the panel's row goes.
            ctx.note("Volume never made", f"{other.dataset}: only the panel's row is removed")
            continue
        ctx.progress(70, f"Destroying volume {other.dataset}")
        if destroy_dataset(ctx, other):
            gone.append(f"volume {other.dataset}")
    name = domain.name
    domain.delete()
    if volume is not None and drop_volume:
        volume.delete()
    for other in extra:
        other.delete()
    read_back(ctx)
    return f"Deleted {name}: " + (", ".join(gone) or "nothing was on the host")


def _remove_config(ctx: JobContext, domain: Domain, path: str) -> bool:
    """Remove the domU's config file if it is the panel's; True if a file was removed."""
    with ctx.step(f"Remove the config {path}") as record:
        try:
            text = ctx.transport.read_file(path).decode("utf-8", "replace")
        except RemoteFileMissing:
            record.output = "already gone"
            return False
        if not cfg.is_panel_file(text, domain.versions.values_list("text", flat=True)):
            record.output = "not a config the panel wrote; left in place"
            return False
        try:
            ctx.transport.remove(path)
        except RemoteFileMissing:
            record.output = "already gone"
            return False
        record.output = "removed"
        return True


def _extra_volumes(domain: Domain) -> list[Volume]:
    """Return the domU's other disks that no other domU uses (a clone's extra disks too)."""
    others = domain.extra_volumes.all()
    if domain.volume_id is not None:  # exclude(pk=None) would leave every row in anyway
        others = others.exclude(pk=domain.volume_id)
    return [
        v
        for v in others
        if not v.domains.exclude(pk=domain.pk).exists()
        and not v.attached_domains.exclude(pk=domain.pk).exists()
    ]
