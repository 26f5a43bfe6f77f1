"""Start the domUs marked autostart, in their order and with their delays."""

import time

from dom0.errors import Dom0Error, HostUnreachable
from domains import actions
from domains.jobs.common import read_back, start_domain
from domains.migration.evacuation import in_maintenance
from domains.models import Domain
from jobs import locks
from jobs.context import JobContext, StepFailed
from jobs.registry import job_kind


@job_kind(actions.AUTOSTART)
def autostart(ctx: JobContext) -> str:
    """Start the autostart domUs in order, waiting each one's delay before the next.

    One job rather than one start job per domU with a countdown: a single worker then runs them
    strictly in order, and the delay is counted from when the previous domU really started. Each
    domU's own lock is taken while it is started, so a job someone queued on it (a shutdown, a
    delete) never runs at the same time; a domU whose lock another job holds is skipped.
    """
    host = ctx.target("host")
    if host is not None and in_maintenance(host.pk):
        # Queued before an admin put the host in maintenance: nothing starts there until it ends.
        ctx.note("Skip autostart", f"{host.name} is in maintenance: autostart is suspended")
        return f"Started nothing: {host.name} is in maintenance"
    ids = [int(i) for i in ctx.job.params.get("domain_ids", [])]
    by_id = {d.pk: d for d in Domain.objects.select_related("host").filter(pk__in=ids)}
    ordered = [by_id[i] for i in ids if i in by_id]
    started: list[str] = []
    failed: list[str] = []
    for n, domain in enumerate(ordered):
        ctx.check_cancelled()
        holder = locks.acquire(domain.lock_key, ctx.job.pk)
        if holder is not None:
            ctx.note(f"Skip {domain.name}", f"job #{holder} is working on it")
            continue
        try:
            ctx.progress(100 * n / len(ordered), f"Starting {domain.name}")
            ran = _autostart_one(ctx, domain, started, failed)
        finally:
            locks.release(domain.lock_key, ctx.job.pk)
        if ran and n < len(ordered) - 1 and domain.autostart_delay:
            _sleep(
                ctx,
                domain.autostart_delay,
                f"Waiting {domain.autostart_delay}s after {domain.name}",
            )
    read_back(ctx)
    if failed:
        raise StepFailed("Autostart could not start " + "; ".join(failed))
    return f"Started {', '.join(started) or 'nothing'} ({ctx.job.params.get('reason', '')})"


def _autostart_one(ctx: JobContext, domain: Domain, started: list[str], failed: list[str]) -> bool:
    """Start one domU (its lock held); False if it was skipped or failed to start."""
    waiting = actions.active_job(domain)
    if waiting is not None:
        # Queued behind this job on the domU's lock: what it was asked to do comes first.
        ctx.note(f"Skip {domain.name}", f"job #{waiting.pk} ({waiting.title}) is waiting for it")
        return False
    fresh = Domain.objects.filter(pk=domain.pk).first()
    if fresh is None or not (fresh.autostart and fresh.should_run):
        ctx.note(f"Skip {domain.name}", "it was deleted, autostart was switched off or it stopped")
        return False
    if fresh.vnc_password:
        ctx.secret(fresh.vnc_password)
    try:
        if start_domain(ctx, fresh):
            started.append(fresh.name)
    except HostUnreachable:
        raise
    except Dom0Error as exc:
        failed.append(f"{fresh.name}: {exc}")
        return False
    return True


def _sleep(ctx: JobContext, seconds: int, label: str) -> None:
    with ctx.step(label) as record:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ctx.check_cancelled()
            time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        record.output = f"waited {seconds}s"
