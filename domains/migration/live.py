"""Live migration on shared storage: `xl migrate` from the source Dom0 to the target.

Disks are not copied (every disk path must reach the same data on the receiver), so before xl
runs the job checks on the receiver that each disk target exists, that no domain of that name
runs there and that the domU's VNC display is free there. VNC: the simpler choice — a display
held by another domU on the target refuses the move (the user changes it first) instead of
sending another config with `-C`.

Cancelling: obeyed while xl copies the memory (xl is stopped, `_cancelled` puts things right);
once xl hands the domU over ("Giving target permission to start") a cancel is ignored, as
stopping xl then would leave the domain's state undefined. Everything after xl ends — the
clean-up of a cancel, reading both hosts back, moving the record — runs uncancellable
(`transfer.uncancellable`), so the record always follows what the hosts run.
"""

from __future__ import annotations

import threading
from queue import Empty, Queue

from dom0 import commands, parsers
from dom0.errors import Dom0Error
from dom0.migration_access import MIGRATE_KEY, MIGRATE_KNOWN_HOSTS
from dom0.migration_errors import MigrationStateUnknown
from dom0.parsers import classify_error
from dom0.transports.base import StreamingCommand
from domains import cfg, records
from domains.migration import switch, transfer
from domains.models import Domain
from hosts.migration_access import peer_name
from hosts.models import Host
from jobs.context import JobCancelled, JobContext, StepFailed

#: xl migrate copies the guest's memory: allow a big guest over a slow link.
MIGRATE_TIMEOUT = 6 * 3600
#: Seconds between two looks for a cancel request while xl migrate is quiet.
CANCEL_POLL = 0.5


def disk_paths(text: str) -> list[str]:
    values = cfg.summary(cfg.parse(text))
    paths = [values.get("disk_path"), *values.get("extra_disk_paths", [])]  # type: ignore[misc]
    return [p for p in paths if isinstance(p, str) and p]


def check_receiver(ctx: JobContext, domain: Domain, source: Host, target: Host) -> None:
    """Refuse (nothing moved) if the receiver cannot take the domU as its config says."""
    text = records.current_text(domain)
    with ctx.step(f"Check the disks on {target.name}") as record:
        transport = ctx.transport_for(target)
        missing = [p for p in disk_paths(text) if transport.stat(p) is None]
        record.output = "missing: " + ", ".join(missing) if missing else "all present"
    if missing:
        raise StepFailed(
            f"{', '.join(missing)} not found on {target.name}: a live migration needs every "
            f"disk reachable at the same path there (shared storage). Nothing moved; "
            f"{domain.name} still runs on {source.name}."
        )
    if domain.name in switch.names_on(ctx, target, "Check the name is free"):
        raise StepFailed(
            f"A domain named {domain.name} already runs on {target.name}. Nothing moved; "
            f"{domain.name} still runs on {source.name}."
        )
    why = switch.clash(domain, target)
    if why:
        raise StepFailed(f"{why} Nothing moved; {domain.name} still runs on {source.name}.")


def migrate(ctx: JobContext, domain: Domain, source: Host, target: Host) -> str:
    ctx.progress(3, f"Checking {target.name}")
    if domain.name not in switch.names_on(ctx, source, "Check it runs"):
        raise StepFailed(
            f"{domain.name} is not running on {source.name}: a live migration moves a running "
            "domU. Start it, or use a storage migration. Nothing moved."
        )
    transfer.require_access(domain, source, target, "live")
    check_receiver(ctx, domain, source, target)
    ssh = commands.migrate_ssh_command(
        target.ssh_user, MIGRATE_KEY, MIGRATE_KNOWN_HOSTS, target.ssh_port
    )
    argv = commands.xl_migrate(domain.name, peer_name(target), ssh_command=ssh)
    ctx.progress(5, f"xl migrate to {target.name}")
    stderr, rc, cancelled = _run_migrate(ctx, source, argv)
    # xl has ended: what follows must run to its end, or the record could stay on the source
    # while the target runs the domU (or a half-received copy stay behind).
    with transfer.uncancellable(ctx):
        if cancelled:
            _cancelled(ctx, domain, source, target, stderr)
        if rc != 0:
            error = classify_error(argv, rc, "", stderr)
            return _after_failure(ctx, domain, source, target, error)
        return _after_success(ctx, domain, source, target)


def _run_migrate(ctx: JobContext, source: Host, argv: list[str]) -> tuple[str, int, bool]:
    """Run xl migrate on the source, its progress from the lines both sides print; return its
    stderr, exit status and whether a cancel stopped it.

    xl is quiet while it copies the memory (minutes for a big guest), so its stderr is read in a
    thread and the job looks for a cancel request between lines, until xl hands the domU over:
    from then on xl runs to its end (stopping it there would leave the state undefined).
    """
    ctx.check_cancelled(force=True)
    lines: list[str] = []
    cancelled = False
    obey = [True]  # cancels are obeyed until xl's go
    with ctx.step(f"Migrate (xl migrate) from {source.name}", argv) as record:
        command = ctx.transport_for(source).stream(argv, timeout=MIGRATE_TIMEOUT)
        command.stdin.close()
        queue: Queue[str | None] = Queue()
        reader = threading.Thread(
            target=_read_lines, args=(command, queue), name="xl migrate stderr", daemon=True
        )
        reader.start()
        try:
            while (line := _next_line(ctx, queue, obey=obey[0])) is not None:
                lines.append(line.rstrip("\n"))
                progress = parsers.parse_xl_migrate_progress("\n".join(lines))
                if obey[0] and progress.where != "source":
                    obey[0] = False
                    transfer.past_no_return(ctx, "xl migrate handed the domU to the receiver")
                events = progress.events
                # xl prints a dozen lines, each a new phase: show every one at once.
                message = events[-1] if events else "Migrating"
                ctx.progress(5 + progress.percent * 0.85, message, force=True)
            result = command.wait()
        except JobCancelled:
            cancelled = True
            result = command.cancel()
            reader.join(5)
            # What xl printed before it stopped, not yet read: it says how far it got.
            while not queue.empty() and (rest := queue.get_nowait()) is not None:
                lines.append(rest.rstrip("\n"))
            lines.append("(cancelled: xl migrate was stopped)")
        stderr = "\n".join(lines) or result.stderr
        record.rc, record.output = result.rc, ctx.redact(stderr[-8000:])
    return stderr, result.rc, cancelled


def _read_lines(command: StreamingCommand, queue: Queue[str | None]) -> None:
    try:
        for line in command.stderr_lines():
            queue.put(line)
    finally:
        queue.put(None)


def _next_line(ctx: JobContext, queue: Queue[str | None], *, obey: bool = True) -> str | None:
    """The next stderr line (None at its end); raises JobCancelled if the user asked to stop
    (only while `obey`)."""
    while True:
        if obey:
            ctx.check_cancelled()
        try:
            return queue.get(timeout=CANCEL_POLL)
        except Empty:
            continue


def _cancelled(ctx: JobContext, domain: Domain, source: Host, target: Host, stderr: str) -> None:
    """xl was stopped on a cancel: leave the domU running on the source only, then end the job.

    Before xl's go (the usual case: a cancel lands in the memory copy) the source still runs it
    and the receiver drops what it got; the receiver may still hold `<name>--incoming` (paused)
    and the source copy be paused: put that right here. Should xl have renamed the source copy
    `<name>--migratedaway` (it got the receiver's "ready" before it was stopped), which copy lives
    is the admin's call, as after a failed handshake (`_after_failure`). The caller runs this
    uncancellable: its clean-up must not stop at its first command.
    """
    progress = parsers.parse_xl_migrate_progress(stderr)
    rows = {str(r["name"]): r for r in switch.listing(ctx, source, "Check the source")}
    away = f"{domain.name}--migratedaway"
    if progress.where != "source" or away in rows:
        # Past xl's point of no return: as after a failed handshake, look at both ends.
        ctx.note(
            "Cancelled late",
            f"xl migrate was stopped after {target.name} had received {domain.name}"
            + (f" ({away} on {source.name})" if away in rows else ""),
        )
        where = "unknown" if progress.where == "source" else progress.where
        _after_failure(ctx, domain, source, target, _late_cancel(where))
    done: list[str] = []
    incoming = f"{domain.name}--incoming"
    if incoming in switch.names_on(ctx, target, "Check the target"):
        switch.run_on(ctx, target, commands.xl_destroy(incoming), f"Destroy {incoming}")
        done.append(f"destroyed the half-received {incoming} on {target.name}")
    row = rows.get(domain.name)
    if row is not None and row.get("state") == "paused":
        switch.run_on(ctx, source, commands.xl_unpause(domain.name), f"Unpause {domain.name}")
        done.append(f"unpaused it on {source.name}")
    seen = switch.read_back(ctx, source, target)
    ctx.result(where=source.name)
    state = "still runs" if domain.name in seen.get(source.name, set()) else "is not in xl list"
    ctx.note(
        "Cancelled: xl migrate stopped",
        f"{domain.name} {state} on {source.name}; nothing of it is left on {target.name}"
        + (f" ({'; '.join(done)})" if done else "")
        + ".",
    )
    raise JobCancelled


def _late_cancel(where: str) -> Dom0Error:
    return MigrationStateUnknown(
        "The migration was cancelled while xl handed the domain over", where=where
    )


def _after_success(ctx: JobContext, domain: Domain, source: Host, target: Host) -> str:
    # The domU runs on the target now: the record follows before anything else can fail.
    text = records.current_text(domain)
    switch.switch_shared(domain, target)
    ctx.result(where=target.name)
    transfer.note_ignored_cancel(
        ctx, f"{domain.name} runs on {target.name}: the panel shows it there."
    )
    ctx.progress(92, "Moving the config file")
    left = []
    try:
        switch.write_config(ctx, target, domain.name, text)
    except Dom0Error as exc:
        left.append(f"its config file could not be written on {target.name} ({exc})")
    try:
        switch.remove_config(ctx, source, domain.name)
    except Dom0Error as exc:
        left.append(f"its old config file is still on {source.name} ({exc})")
    seen = switch.read_back(ctx, source, target)
    ctx.result(where=target.name)
    if left:
        raise StepFailed(
            f"{domain.name} was migrated and runs on {target.name} (the panel shows it there), "
            f"but {'; '.join(left)}. Fix that before it is next started."
        )
    running = domain.name in seen.get(target.name, set())
    return f"{domain.name} migrated live to {target.name}" + (
        "" if running else " (not in xl list)"
    )


def _after_failure(
    ctx: JobContext, domain: Domain, source: Host, target: Host, error: Dom0Error
) -> str:
    where = getattr(error, "where", "source")
    seen = switch.read_back(ctx, source, target)
    on_source = domain.name in seen.get(source.name, set())
    on_target = domain.name in seen.get(target.name, set())
    if where == "destination" or (where == "unknown" and on_target and not on_source):
        # xl lost the final handshake but the target runs it under its name: it moved.
        return _moved_anyway(ctx, domain, source, target, error, seen)
    if where == "unknown":
        ctx.result(where="unknown")
        away, incoming = f"{domain.name}--migratedaway", f"{domain.name}--incoming"
        raise StepFailed(
            f"The migration failed during xl's final handshake: {domain.name}'s state is "
            f"undefined (xl list: {source.name} {sorted(seen.get(source.name, []))}, "
            f"{target.name} {sorted(seen.get(target.name, []))}). The panel keeps it on "
            f"{source.name}. Check both hosts with `xl list` and keep exactly one copy: if "
            f"{target.name} has no running {domain.name}, `xl destroy {incoming}` there (if "
            f"listed), then on {source.name} `xl rename {away} {domain.name}` and `xl unpause "
            f"{domain.name}`; then refresh both hosts."
        )
    ctx.result(where=source.name)
    state = "still runs" if on_source else "is not in xl list"
    raise StepFailed(
        f"{error.message.rstrip('.')}. {domain.name} {state} on {source.name}; nothing of it "
        f"is left on {target.name}. {error.hint or ''}".strip()
    )


def _moved_anyway(
    ctx: JobContext,
    domain: Domain,
    source: Host,
    target: Host,
    error: Dom0Error,
    seen: dict[str, set[str]],
) -> str:
    """xl failed after its go, yet the target runs the domU: the record and config follow it."""
    text = records.current_text(domain)
    switch.switch_shared(domain, target)
    ctx.result(where=target.name)
    transfer.note_ignored_cancel(
        ctx, f"{domain.name} runs on {target.name}: the panel shows it there."
    )
    switch.read_back(ctx, target)
    left = []
    try:
        switch.write_config(ctx, target, domain.name, text)
        switch.remove_config(ctx, source, domain.name)
    except Dom0Error as exc:
        left.append(f"move its config file to {target.name} by hand ({exc.message})")
    away = f"{domain.name}--migratedaway"
    if away in seen.get(source.name, set()):
        # xl's own advice: it is the admin's call which copy lives; the target's runs.
        left.append(f"`xl destroy {away}` on {source.name} (xl left its paused copy there)")
    raise StepFailed(
        f"xl migrate reported a failure ({error.message}), yet {domain.name} runs on "
        f"{target.name} and not on {source.name}: the panel now shows it on {target.name}. "
        + (f"Left to do: {'; '.join(left)}." if left else "Nothing is left on " + source.name)
    )
