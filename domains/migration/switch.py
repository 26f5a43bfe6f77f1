"""Moving a domU's record to another host, and what a migration job does on either host.

A migration job talks to two hosts, so unlike `domains.jobs.common` (which works on the job's
"host") every helper here names the host it runs on. The switch keeps the name, MACs and VNC
display; the (host, name) and (host, vnc_display) constraints are checked before anything moves
(`clash`) and again by the database when the row is written.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from dom0 import commands, parsers
from dom0.errors import CommandFailed, Dom0Error, RemoteFileMissing
from dom0.transport import Result
from domains import cfg, records
from domains.jobs.common import store_listing
from domains.models import Domain
from hosts.listing import listing_row
from hosts.models import Host
from jobs.context import JobContext, StepFailed
from storage.models import IsoImage, Volume


def run_on(
    ctx: JobContext,
    host: Host,
    argv: Sequence[str],
    label: str,
    *,
    timeout: float = 120,
    check: bool = True,
) -> Result:
    """Run a recorded step on `host`; a failure names the host and the command."""
    try:
        return ctx.run(
            argv, label=f"{label} on {host.name}", timeout=timeout, check=check,
            on=ctx.transport_for(host),
        )  # fmt: skip
    except CommandFailed as exc:
        shown = shlex.join(ctx.redact(a) for a in argv)
        raise type(exc)(
            f"{label} on {host.name} failed — `{shown}`: {exc.message}",
            argv=exc.argv, rc=exc.rc, stderr=exc.stderr, hint=exc.hint,
        ) from exc  # fmt: skip


def listing(ctx: JobContext, host: Host, label: str = "Read xl list") -> list[dict[str, Any]]:
    result = run_on(ctx, host, commands.xl_list(), label, timeout=30)
    return [listing_row(r) for r in parsers.parse_xl_list(result.stdout)]


def names_on(ctx: JobContext, host: Host, label: str = "Read xl list") -> set[str]:
    return {str(r["name"]) for r in listing(ctx, host, label)}


def read_back(ctx: JobContext, *hosts: Host) -> dict[str, set[str]]:
    """`xl list` on each host: write every managed domU's state; return the names per host."""
    seen: dict[str, set[str]] = {}
    for host in hosts:
        try:
            rows = listing(ctx, host, "Read xl list back")
        except Dom0Error as exc:
            ctx.note(f"Could not read {host.name} back", str(exc))
            continue
        records.apply_rows(host.pk, rows)
        store_listing(host, rows)
        seen[host.name] = {str(r["name"]) for r in rows}
    return seen


def write_config(ctx: JobContext, host: Host, name: str, text: str) -> str:
    path = cfg.config_path(host.config_dir, name)
    with ctx.step(f"Write the config to {path} on {host.name}") as record:
        transport = ctx.transport_for(host)
        transport.makedirs(host.config_dir)
        transport.write_file(path, text.encode(), 0o600)  # it holds the VNC password
        record.output = ctx.redact(text)
    return path


def remove_config(ctx: JobContext, host: Host, name: str) -> None:
    path = cfg.config_path(host.config_dir, name)
    with ctx.step(f"Remove {path} on {host.name}") as record:
        try:
            ctx.transport_for(host).remove(path)
            record.output = "removed"
        except RemoteFileMissing:
            record.output = "not there"


def clash(domain: Domain, target: Host) -> str:
    """Why the domU's record cannot move to `target` ('' if it can)."""
    others = Domain.objects.filter(host=target).exclude(pk=domain.pk)
    if others.filter(name=domain.name).exists():
        return f"{target.name} already has a domU named {domain.name} in the panel."
    if domain.vnc_display is not None and others.filter(vnc_display=domain.vnc_display).exists():
        holder = others.filter(vnc_display=domain.vnc_display).first()
        return (
            f"VNC display :{domain.vnc_display} (port {domain.vnc_port}) is {holder}'s on "
            f"{target.name}: change {domain.name}'s VNC display on its edit page, then migrate."
        )
    return ""


def _iso_on(target: Host, iso: IsoImage | None) -> IsoImage | None:
    if iso is None:
        return None
    return IsoImage.objects.filter(host=target, file_name=iso.file_name).first()


def switch_shared(domain: Domain, target: Host) -> None:
    """Live migration: the row and its volumes' rows follow the domU (the disks are shared)."""
    with transaction.atomic():
        row = Domain.objects.select_for_update().get(pk=domain.pk)
        volumes = [v for v in [row.volume, *row.extra_volumes.all()] if v is not None]
        for volume in volumes:
            if not Volume.objects.filter(host=target, dataset=volume.dataset).exists():
                # The same disk, reached from the other host: the row moves with its domU.
                Volume.objects.filter(pk=volume.pk).update(host=target)
        _move_row(row, target)
    domain.refresh_from_db()


def switch_copied(domain: Domain, target: Host, copies: dict[int, Volume], text: str) -> None:
    """Storage migration: the row points at the target's copies; the sources are superseded."""
    with transaction.atomic():
        row = Domain.objects.select_for_update().get(pk=domain.pk)
        Volume.objects.filter(pk__in=list(copies)).update(superseded=True)
        row.extra_volumes.set([copies[v.pk] for v in row.extra_volumes.all() if v.pk in copies])
        _move_row(row, target)
        if text != records.current_text(row):
            records.add_version(row, text, note=f"Migrated: its disks are now on {target.name}")
        else:
            records.sync_fields(row, text)
    domain.refresh_from_db()


def _move_row(row: Domain, target: Host) -> None:
    try:
        with transaction.atomic():
            Domain.objects.filter(pk=row.pk).update(host=target, iso=_iso_on(target, row.iso))
    except IntegrityError as exc:
        raise StepFailed(clash(row, target) or f"Could not move the record: {exc}") from exc
    row.refresh_from_db()
    # Re-bind the boot disk, extra disks and ISO by path on the new host.
    records.sync_fields(row, records.current_text(row))
