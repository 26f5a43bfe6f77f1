"""Live migration on shared storage: `xl migrate` from the source Dom0 to the target.

Disks are not copied (every disk path must reach the same data on the receiver), so before xl
runs the job checks on the receiver that each disk target exists, that no domain of that name
runs there and that the domU's VNC display is free there. VNC: the simpler choice — a display
held by another domU on the target refuses the move (the user changes it first) instead of
sending another config with `-C`.
"""

from __future__ import annotations

from dom0 import commands, parsers
from dom0.errors import Dom0Error
from dom0.parsers import classify_error
from domains import cfg, records
from domains.migration import switch
from domains.models import Domain
from hosts.models import Host
from jobs.context import JobContext, StepFailed

MIGRATE_KEY = "/usr/local/etc/xenpanel/migrate_key"
MIGRATE_KNOWN_HOSTS = "/usr/local/etc/xenpanel/migrate_known_hosts"
#: xl migrate copies the guest's memory: allow a big guest over a slow link.
MIGRATE_TIMEOUT = 6 * 3600


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
    check_receiver(ctx, domain, source, target)
    ssh = commands.migrate_ssh_command(
        target.ssh_user, MIGRATE_KEY, MIGRATE_KNOWN_HOSTS, target.ssh_port
    )
    argv = commands.xl_migrate(domain.name, switch.peer_name(target), ssh_command=ssh)
    ctx.progress(5, f"xl migrate to {target.name}")
    stderr, rc = _run_migrate(ctx, source, argv)
    if rc != 0:
        error = classify_error(argv, rc, "", stderr)
        return _after_failure(ctx, domain, source, target, error)
    return _after_success(ctx, domain, source, target)


def _run_migrate(ctx: JobContext, source: Host, argv: list[str]) -> tuple[str, int]:
    """Run xl migrate on the source, its progress from the lines both sides print."""
    ctx.check_cancelled(force=True)
    lines: list[str] = []
    with ctx.step(f"Migrate (xl migrate) from {source.name}", argv) as record:
        command = ctx.transport_for(source).stream(argv, timeout=MIGRATE_TIMEOUT)
        command.stdin.close()
        for line in command.stderr_lines():
            lines.append(line.rstrip("\n"))
            progress = parsers.parse_xl_migrate_progress("\n".join(lines))
            events = progress.events
            ctx.progress(5 + progress.percent * 0.85, events[-1] if events else "Migrating")
        result = command.wait()
        stderr = "\n".join(lines) or result.stderr
        record.rc, record.output = result.rc, ctx.redact(stderr[-8000:])
    return stderr, result.rc


def _after_success(ctx: JobContext, domain: Domain, source: Host, target: Host) -> str:
    # The domU runs on the target now: the record follows before anything else can fail.
    text = records.current_text(domain)
    switch.switch_shared(domain, target)
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
        # xl lost the final handshake but the target has it under its name: it moved.
        switch.switch_shared(domain, target)
        switch.read_back(ctx, target)
        ctx.result(where=target.name)
        raise StepFailed(
            f"xl migrate reported a failure ({error}), yet {domain.name} runs on {target.name} "
            f"and not on {source.name}: the panel now shows it on {target.name}. Check "
            f"{source.name} with `xl list` for a leftover `{domain.name}--migratedaway` and "
            "destroy it; write its config file on the target from its page (edit, save)."
        )
    if where == "unknown":
        ctx.result(where="unknown")
        raise StepFailed(
            f"The migration failed during xl's final handshake: {domain.name}'s state is "
            f"undefined (xl list: {source.name} {sorted(seen.get(source.name, []))}, "
            f"{target.name} {sorted(seen.get(target.name, []))}). The panel keeps it on "
            f"{source.name}. Look for `{domain.name}--migratedaway` on {source.name} and "
            f"`{domain.name}--incoming` on {target.name} and keep exactly one copy running."
        )
    ctx.result(where=source.name)
    state = "still runs" if on_source else "is not in xl list"
    raise StepFailed(
        f"{error.message.rstrip('.')}. {domain.name} {state} on {source.name}; nothing of it "
        f"is left on {target.name}. {error.hint or ''}".strip()
    )
