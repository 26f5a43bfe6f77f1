"""Jobs: migrate a domU to another host (live or with its disks) and destroy what it left behind.

The handlers only load the job's objects and hand over to `domains/migration/` (live.py,
storage_move.py, switch.py), which say on every failure where the domU runs now.
"""

from __future__ import annotations

from django.db import transaction

from dom0 import commands
from dom0.errors import DatasetMissing, Dom0Error
from domains import actions
from domains.jobs.common import load_domain
from domains.migration import live, storage_move, switch
from hosts.models import Host
from jobs.context import JobContext, StepFailed
from jobs.registry import job_kind
from storage.models import Volume


def _host(ctx: JobContext, key: str, what: str) -> Host:
    host = Host.objects.filter(pk=ctx.job.params.get(key)).first()
    if host is None:
        raise StepFailed(f"The {what} host was removed from the panel before the job ran.")
    return host


@job_kind(actions.MIGRATE)
def migrate(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    source, target = _host(ctx, "source_id", "source"), _host(ctx, "target_id", "target")
    if domain.host_id != source.pk:
        raise StepFailed(
            f"{domain.name} is on {domain.host.name} now, not {source.name} (another job moved "
            "it). Nothing was done."
        )
    if target.maintenance:
        raise StepFailed(
            f"{target.name} is in maintenance: no domU is placed there. Nothing moved."
        )
    mode = ctx.job.params.get("mode")
    ctx.result(source=source.name, target=target.name, mode=mode)
    if mode == "live":
        return live.migrate(ctx, domain, source, target)
    if mode == "storage":
        downtime = str(ctx.job.params.get("downtime") or "shutdown")
        return storage_move.migrate(ctx, domain, source, target, downtime)
    raise StepFailed(f"Unknown migration mode {mode!r}. Nothing moved.")


@job_kind(actions.MIGRATION_CLEANUP)
def cleanup(ctx: JobContext) -> str:
    """`zfs destroy -r` each superseded source volume on its (old) host, then forget its row."""
    domain = load_domain(ctx)
    ids = [int(i) for i in ctx.job.params.get("volume_ids", [])]
    volumes = list(
        Volume.objects.filter(pk__in=ids, superseded=True)
        .select_related("host")
        .order_by("dataset")
    )
    gone: list[str] = []
    for n, volume in enumerate(volumes):
        ctx.progress(10 + 80 * n // max(1, len(volumes)), f"Destroying {volume.dataset}")
        argv = commands.zfs_destroy(volume.dataset, recursive=True)
        try:
            switch.run_on(ctx, volume.host, argv, f"Destroy the old copy {volume.dataset}")
        except DatasetMissing:
            ctx.note("Already gone", f"{volume.dataset} is not on {volume.host.name}")
        except Dom0Error as exc:
            raise StepFailed(
                f"{exc.message.rstrip('.')}. Destroyed so far: {', '.join(gone) or 'nothing'}; "
                f"{volume.dataset} and the rest stay on {volume.host.name}, marked superseded. "
                f"{domain.name} is not affected (it runs from its copies on {domain.host.name})."
            ) from exc
        with transaction.atomic():
            Volume.objects.filter(pk=volume.pk).delete()
        gone.append(f"{volume.dataset} on {volume.host.name}")
    return f"Destroyed {domain.name}'s old volumes: {', '.join(gone) or 'none were left'}"
