"""Start, shut down, reboot, pause, unpause and destroy a domU."""

from dom0 import commands
from domains import actions, records
from domains.jobs.common import (
    DEFAULT_SHUTDOWN_TIMEOUT,
    destroy_if_present,
    find,
    finish,
    load_domain,
    reads_back,
    run,
    set_fields,
    start_domain,
)
from domains.jobs.create import check_kernel
from domains.models import GuestType
from jobs.context import JobContext, StepFailed
from jobs.registry import job_kind


@job_kind(actions.START)
@reads_back
def start(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    if records.never_made(domain):
        raise StepFailed(
            f"{domain.name} was never created: its create job stopped before the volume "
            f"{domain.volume.dataset if domain.volume else ''} was made. Delete it and create it "
            "again."
        )
    if domain.guest_type == GuestType.PVH and find(ctx, domain) is None:
        check_kernel(
            ctx,
            domain,
            outcome="it was not started",
            then="or edit its kernel path, then Start it again",
        )
    ctx.progress(20, "Starting")
    created = start_domain(ctx, domain)
    set_fields(domain, should_run=True)
    if created:
        records.release_detached(domain)  # it runs its file now: detached disks are unplugged
    return finish(ctx, domain, "started" if created else "was already running")


@job_kind(actions.SHUTDOWN)
@reads_back
def shutdown(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    force = bool(ctx.job.params.get("force"))
    wait = int(ctx.job.params.get("timeout") or DEFAULT_SHUTDOWN_TIMEOUT)
    if find(ctx, domain) is None:
        set_fields(domain, should_run=False)
        ctx.note("Not running", f"{domain.name} is not in xl list")
        return finish(ctx, domain, "was not running")
    ctx.progress(30, "Pressing the ACPI power button" if force else "Asking the guest to shut down")
    label = f"Shut down {domain.name}" + (" (ACPI power button)" if force else "")
    run(ctx, commands.xl_shutdown(domain.name, wait=True, force=force), label, timeout=wait)
    # Only now: a guest that ignored the request still runs and should still come back after a
    # Dom0 reboot. While this job runs, polls leave should_run alone (observe.settle_stopped).
    set_fields(domain, should_run=False)
    return finish(ctx, domain, "shut down")


@job_kind(actions.REBOOT)
@reads_back
def reboot(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    force = bool(ctx.job.params.get("force"))
    if find(ctx, domain) is None:
        raise StepFailed(f"{domain.name} is not running; start it instead.")
    label = f"Reboot {domain.name}" + (" (ACPI reset)" if force else "")
    run(ctx, commands.xl_reboot(domain.name, force=force), label)
    set_fields(domain, should_run=True)
    return finish(ctx, domain, "rebooted")


def _pause(ctx: JobContext, paused: bool) -> str:
    domain = load_domain(ctx)
    row = find(ctx, domain)
    if row is None:
        raise StepFailed(f"{domain.name} is not running.")
    if (row["state"] == "paused") == paused:
        ctx.note("Nothing to do", f"{domain.name} is already {'paused' if paused else 'running'}")
    elif paused:
        run(ctx, commands.xl_pause(domain.name), f"Pause {domain.name}")
    else:
        run(ctx, commands.xl_unpause(domain.name), f"Unpause {domain.name}")
    return finish(ctx, domain, "paused" if paused else "unpaused")


@job_kind(actions.PAUSE)
@reads_back
def pause(ctx: JobContext) -> str:
    return _pause(ctx, True)


@job_kind(actions.UNPAUSE)
@reads_back
def unpause(ctx: JobContext) -> str:
    return _pause(ctx, False)


@job_kind(actions.DESTROY)
@reads_back
def destroy(ctx: JobContext) -> str:
    domain = load_domain(ctx)
    set_fields(domain, should_run=False)
    destroy_if_present(ctx, domain)
    return finish(ctx, domain, "destroyed")
