"""Helpers every domU job uses: load the domU, run a step, read `xl list` back, write and
create the config.

Every job reads `xl list` back at its end so the pages show what the host really has. A step
that changes the host first checks whether the change is already there, so a job redelivered
after a worker died finishes instead of doing things twice.
"""

import shlex
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from dom0 import commands, parsers
from dom0.errors import CommandFailed, Dom0Error, DomainNotFound, HostUnreachable
from dom0.transport import Result
from domains import cfg, records
from domains.models import Domain, DomainState
from hosts.listing import domu_totals, listing_row
from hosts.models import Host
from jobs.context import JobContext, StepFailed
from jobs.rows import save_fields

XL_TIMEOUT = 120
DEFAULT_SHUTDOWN_TIMEOUT = 120


def load_domain(ctx: JobContext) -> Domain:
    domain = (
        Domain.objects.select_related("host", "volume", "iso")
        .filter(pk=ctx.job.params.get("domain_id"))
        .first()
    )
    if domain is None:
        raise StepFailed("This domU was deleted from the panel before the job ran.")
    if domain.vnc_password:
        ctx.secret(domain.vnc_password)
    return domain


def run(ctx: JobContext, argv: Sequence[str], label: str, timeout: float = XL_TIMEOUT) -> Result:
    """Run a step; on failure say which command failed and why (the tool's own message)."""
    try:
        return ctx.run(argv, label=label, timeout=timeout)
    except HostUnreachable as exc:
        raise HostUnreachable(
            f"{label}: the host stopped answering ({exc.message})", hint=exc.hint
        ) from exc
    except CommandFailed as exc:
        shown = shlex.join(ctx.redact(a) for a in argv)
        raise type(exc)(
            f"{label} failed — `{shown}`: {exc.message}",
            argv=exc.argv,
            rc=exc.rc,
            stderr=exc.stderr,
            hint=exc.hint,
        ) from exc


def list_domains(ctx: JobContext, label: str = "Read back xl list") -> list[dict[str, Any]]:
    result = run(ctx, commands.xl_list(), label, timeout=30)
    return [listing_row(r) for r in parsers.parse_xl_list(result.stdout)]


def read_back(ctx: JobContext, domain: Domain | None = None) -> dict[str, Any] | None:
    """Run `xl list`, write every managed domU's state on the host, return this domU's row."""
    host: Host = ctx.target("host")
    assert host is not None
    rows = list_domains(ctx)
    records.apply_rows(host.pk, rows)
    store_listing(host, rows)
    if domain is None:
        return None
    row = next((r for r in rows if r["name"] == domain.name), None)
    domain.refresh_from_db()
    ctx.result(state=domain.state, domid=domain.domid)
    return row


def store_listing(host: Host, rows: list[dict[str, Any]]) -> None:
    """Keep the host's `xl list` facts current too (the form's name check reads them)."""
    with transaction.atomic():
        fresh = Host.objects.select_for_update().filter(pk=host.pk).first()
        if fresh is None or not fresh.facts:
            return
        facts = dict(fresh.facts)
        facts["domains"] = rows
        totals = domu_totals(rows)
        used = totals["domu_memory_mib"]
        # xl info is not read again here: move free memory by what the domUs took or gave back,
        # so the bars agree until the next poll reads the hypervisor's own figure.
        if isinstance(facts.get("free_memory_mib"), int) and isinstance(
            facts.get("domu_memory_mib"), int
        ):
            facts["free_memory_mib"] = max(
                0, facts["free_memory_mib"] - (used - facts["domu_memory_mib"])
            )
        facts.update(totals)
        Host.objects.filter(pk=host.pk).update(facts=facts, **Host.capacity_values(facts))


def find(ctx: JobContext, domain: Domain, label: str = "Check the domain on the host") -> Any:
    rows = list_domains(ctx, label)
    return next((r for r in rows if r["name"] == domain.name), None)


def write_config(ctx: JobContext, domain: Domain) -> str:
    """Write the domU's current config version to the host's config directory."""
    text = records.current_text(domain)
    path = cfg.config_path(domain.host.config_dir, domain.name)
    with ctx.step(f"Write the config to {path}") as record:
        ctx.transport.makedirs(domain.host.config_dir)
        # 0600: the file holds the VNC password.
        ctx.transport.write_file(path, text.encode(), 0o600)
        record.output = ctx.redact(text)
    return path


def xl_create(ctx: JobContext, domain: Domain, path: str) -> None:
    argv = commands.xl_create(path, policy=domain.host.path_policy())
    run(ctx, argv, f"Create {domain.name} (xl create)")


def set_fields(domain: Domain, **values: Any) -> None:
    save_fields(domain, **values)


def finish(ctx: JobContext, domain: Domain, verb: str) -> str:
    ctx.progress(90, "Reading xl list back")
    row = read_back(ctx, domain)
    if row is None:
        return f"{domain.name} {verb}; not running now"
    return f"{domain.name} {verb}; {DomainState(domain.state).label} as domain {row['domid']}"


def start_domain(ctx: JobContext, domain: Domain) -> bool:
    """Write the config and `xl create` it unless the domU already runs; True if created."""
    if find(ctx, domain) is not None:
        ctx.note("Already running", f"{domain.name} is in xl list; nothing to start")
        return False
    path = write_config(ctx, domain)
    xl_create(ctx, domain, path)
    return True


def reads_back(handler: Any) -> Any:
    """Also read `xl list` back when the job fails, so the pages show what really happened."""

    def wrapper(ctx: JobContext) -> Any:
        try:
            return handler(ctx)
        except (Dom0Error, StepFailed) as exc:
            if not isinstance(exc, HostUnreachable):
                try:
                    read_back(ctx)
                except Dom0Error:
                    pass  # the original failure is the one worth reporting
            raise

    wrapper.__name__ = handler.__name__
    wrapper.__doc__ = handler.__doc__
    return wrapper


def destroy_if_present(ctx: JobContext, domain: Domain) -> bool:
    if find(ctx, domain) is None:
        ctx.note("Not running", f"{domain.name} is not in xl list; nothing to destroy")
        return False
    try:
        run(ctx, commands.xl_destroy(domain.name), f"Destroy {domain.name} (xl destroy)")
    except DomainNotFound:
        ctx.note("Already gone", f"{domain.name} disappeared before xl destroy")
    return True
