"""Jobs: evacuate a host (issue 14) — one migration per running domU, then maintenance.

The parent job locks only `evacuate:<host>` (two evacuations of one host never run at once);
each migration it queues locks the domU and both hosts itself, so the parent must not hold any
of those. It waits for its children by reading their rows, shows "2 of 3 moved", and marks the
host in maintenance only when no running domU is left on it.
"""

from __future__ import annotations

import time
from typing import Any

from domains import actions
from domains.migration import evacuation
from domains.models import Domain
from hosts.models import Host
from jobs.choices import ACTIVE_JOB_STATUSES, JobStatus
from jobs.context import JobCancelled, JobContext, StepFailed
from jobs.enqueue import Target, add_targets, request_cancel
from jobs.models import Job
from jobs.registry import job_kind

#: How often the parent reads its children's rows (the pages poll once a second).
POLL_SECONDS = 0.5


@job_kind(actions.EVACUATE)
def evacuate(ctx: JobContext) -> str:
    host = ctx.target("host")
    if host is None:
        raise StepFailed("The host is gone: nothing to evacuate.")
    children: dict[str, list[int]] = dict(ctx.job.params.get("children") or {})
    skipped: dict[str, str] = dict(ctx.job.params.get("skipped") or {})
    if ctx.redelivered and "children" in ctx.job.params:
        # A worker died while this job waited: the moves it queued run on their own.
        ctx.note("Resumed", "waiting for the moves an earlier delivery of this job queued")
    else:
        children, skipped = _queue_moves(ctx, host)
    total = len(children) + len(skipped)
    ended = _wait(ctx, children, total)
    return _finish(ctx, host, ended, skipped, total, [pk for pk, _ in children.values()])


def _queue_moves(ctx: JobContext, host: Host) -> tuple[dict[str, list[int]], dict[str, str]]:
    """Plan the evacuation now (not when it was asked for: domUs start and stop meanwhile) and
    queue one migration per domU that has a target; record them in the job's params.

    `children` maps each moved domU's name (unique on the host) to [its pk, its job's pk].
    """
    from domains.migration.actions import queue_migration

    ids = [int(i) for i in ctx.job.params.get("target_ids") or []]
    chosen = list(Host.objects.filter(pk__in=ids)) if ids else None
    if ids and not chosen:
        raise StepFailed("None of the hosts chosen for the evacuation exists any more.")
    moves = evacuation.plan_evacuation(host, chosen)
    ctx.note(f"Plan the evacuation of {host.name}", _plan_text(host, moves))
    children: dict[str, list[int]] = {}
    skipped: dict[str, str] = {}
    destinations: dict[int, Host] = {}
    for move in moves:
        name = move.domain.name
        if move.target is None:
            skipped[name] = move.reason
            ctx.note(f"Skip {name}", f"{name} stays on {host.name}: {move.reason}")
            continue
        try:
            child = queue_migration(
                move.domain,
                move.target,
                mode=move.mode,
                downtime="shutdown",
                user=ctx.job.requested_by,
                parent=ctx.job,
            )
        except Exception as exc:  # one refused move (a quota, a race) must not stop the others
            skipped[name] = str(exc)
            ctx.note(f"Skip {name}", f"{name} stays on {host.name}: {exc}")
            continue
        children[name] = [move.domain.pk, child.pk]
        destinations[move.target.pk] = move.target
        ctx.note(
            f"Move {name} to {move.target.name} ({move.mode})",
            f"job #{child.pk}: {move.mode_text}",
        )
    # The evacuation shows on the pages of the hosts it moves domUs to, without locking them.
    add_targets(ctx.job, [Target(f"destination-{pk}", h) for pk, h in destinations.items()])
    params = {**ctx.job.params, "children": children, "skipped": skipped}
    Job.objects.filter(pk=ctx.job.pk).update(params=params)
    ctx.job.params = params
    return children, skipped


def _plan_text(host: Host, moves: list[evacuation.Move]) -> str:
    lines = [
        f"{m.domain.name} ({m.domain.memory_mb} MiB) → {m.target.name}, {m.mode_text}"
        if m.target is not None
        else f"{m.domain.name}: stays, {m.reason}"
        for m in moves
    ] or [f"No domU of the panel runs on {host.name}."]
    staying = [d.name for d in evacuation.staying_domains(host)]
    if staying:
        lines.append(f"Not running, they stay on {host.name}: {', '.join(staying)}.")
    unmanaged = evacuation.unmanaged_names(host)
    if unmanaged:
        lines.append(f"Not the panel's, nothing moves them: {', '.join(unmanaged)}.")
    return "\n".join(lines)


def _wait(ctx: JobContext, children: dict[str, list[int]], total: int) -> dict[str, Job]:
    """Wait until every child ended, showing overall progress; on cancel, cancel the moves that
    have not started and leave the running ones to end (a migration stops only where it is safe)."""
    by_pk = {job_pk: name for name, (_, job_pk) in children.items()}
    while True:
        jobs = {by_pk[j.pk]: j for j in Job.objects.filter(pk__in=list(by_pk))}
        running = [j for j in jobs.values() if j.status in ACTIVE_JOB_STATUSES]
        moved = sum(1 for j in jobs.values() if j.status == JobStatus.SUCCEEDED)
        done = sum(100 for j in jobs.values() if j.status not in ACTIVE_JOB_STATUSES)
        percent = (done + sum(j.progress for j in running)) / total if total else 100
        now = next((j for j in running if j.status == JobStatus.RUNNING), None)
        message = f"{moved} of {total} moved"
        if now is not None:
            message += f"; {now.title}: {now.progress}%"
        ctx.progress(percent, message)
        if not running:
            return jobs
        try:
            ctx.check_cancelled()
        except JobCancelled:
            _cancel_children(ctx, running)
            raise
        time.sleep(POLL_SECONDS)


def _cancel_children(ctx: JobContext, running: list[Job]) -> None:
    queued = [j for j in running if j.status == JobStatus.QUEUED]
    for job in queued:
        request_cancel(job)
    started = [j for j in running if j.status != JobStatus.QUEUED]
    lines = [f"Cancelled before it started: job #{j.pk} {j.title}" for j in queued]
    lines += [
        f"Still running, it ends on its own (cancel it on its page): job #{j.pk} {j.title}"
        for j in started
    ]
    ctx.note("Cancel the moves not started yet", "\n".join(lines) or "nothing was left to cancel")


def _child_failure(job: Job) -> str:
    text = (job.error or job.message or job.get_status_display()).strip().splitlines()
    return f"job #{job.pk} {job.get_status_display().lower()}: {text[0] if text else ''}"


def _finish(
    ctx: JobContext,
    host: Host,
    ended: dict[str, Job],
    skipped: dict[str, str],
    total: int,
    domain_pks: list[int],
) -> str:
    # Whatever the jobs said, the record decides: a domU started here meanwhile also stays.
    still_here = {d.name for d in evacuation.running_domains(host)}
    moved = sorted(
        name
        for name, job in ended.items()
        if job.status == JobStatus.SUCCEEDED and name not in still_here
    )
    stayed = dict(skipped)
    for name, job in sorted(ended.items()):
        if job.status != JobStatus.SUCCEEDED:
            stayed[name] = _child_failure(job)
    for name in still_here:
        stayed.setdefault(name, f"it runs on {host.name} (started during the evacuation?)")
    staying = [d.name for d in evacuation.staying_domains(host)]
    targets = _where(moved, domain_pks)
    ctx.result(moved=moved, stayed=stayed, stopped_stay=staying)
    stopped = f" Not running, they stay on {host.name}: {', '.join(staying)}." if staying else ""
    if stayed:
        was = (
            "it stays in maintenance as before"
            if evacuation.in_maintenance(host.pk)
            else "it is not put in maintenance"
        )
        still = "; ".join(f"{name} — {why}" for name, why in sorted(stayed.items()))
        ctx.result(maintenance=evacuation.in_maintenance(host.pk))
        raise StepFailed(
            f"{len(moved)} of {total} moved{targets}. Still on {host.name}: {still}. "
            f"{host.name}: {was}. Move or stop those domUs, then evacuate again or enter "
            f"maintenance by hand.{stopped}"
        )
    entered = evacuation.enter_maintenance(host, ctx.job.requested_by)
    ctx.note(
        f"Put {host.name} in maintenance",
        "no new domUs are placed there and autostart is suspended until an admin ends it"
        if entered
        else "it already was in maintenance",
    )
    ctx.result(maintenance=True)
    if not total:
        return f"No domU ran on {host.name}; it is in maintenance.{stopped}"
    return f"{len(moved)} of {total} moved{targets}; {host.name} is in maintenance.{stopped}"


def _where(names: list[str], domain_pks: list[int]) -> str:
    """' (web1 → xen2, web2 → xen3)': where the moved domUs are now, from their rows."""
    if not names:
        return ""
    rows: dict[str, Any] = {
        d.name: d.host.name
        for d in Domain.objects.filter(pk__in=domain_pks, name__in=names).select_related("host")
    }
    return " (" + ", ".join(f"{n} → {rows.get(n, '?')}" for n in names) + ")"
