"""DomU jobs: create, lifecycle, finish install, ISO media, delete, import and autostart.

Every job reads `xl list` back at its end so the pages show what the host really has. A step
that changes the host first checks whether the change is already there, so a job redelivered
after a worker died finishes instead of doing things twice.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from domains import actions, cfg, records
from domains.models import Domain, DomainState
from hosts.dom0 import commands, parsers
from hosts.dom0.errors import (
    CommandFailed,
    DatasetExists,
    Dom0Error,
    DomainNotFound,
    HostUnreachable,
    RemoteFileMissing,
)
from hosts.dom0.transport import Result
from hosts.jobs.context import JobContext, StepFailed
from hosts.jobs.registry import job_kind
from hosts.models import Host, IsoImage, Volume

XL_TIMEOUT = 120
DEFAULT_SHUTDOWN_TIMEOUT = 120


# --- helpers ----------------------------------------------------------------------------------


def _domain(ctx: JobContext) -> Domain:
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


def _policy(host: Host) -> commands.PathPolicy:
    return cfg.policy_for(host.config_dir, host.iso_dir)


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
    return [records.row_dict(r) for r in parsers.parse_xl_list(result.stdout)]


def read_back(ctx: JobContext, domain: Domain | None = None) -> dict[str, Any] | None:
    """Run `xl list`, write every managed domU's state on the host, return this domU's row."""
    host = ctx.job.host
    assert host is not None
    rows = list_domains(ctx)
    records.apply_rows(host.pk, rows)
    _store_listing(host, rows)
    if domain is None:
        return None
    row = next((r for r in rows if r["name"] == domain.name), None)
    domain.refresh_from_db()
    ctx.result(state=domain.state, domid=domain.domid)
    return row


def _store_listing(host: Host, rows: list[dict[str, Any]]) -> None:
    """Keep the host's `xl list` facts current too (the form's name check reads them)."""
    with transaction.atomic():
        fresh = Host.objects.select_for_update().filter(pk=host.pk).first()
        if fresh is None or not fresh.facts:
            return
        facts = dict(fresh.facts)
        domus = [r for r in rows if r["domid"] != 0]
        facts["domains"] = rows
        facts["domu_count"] = len(domus)
        facts["domu_memory_mib"] = sum(r["mem_mib"] for r in domus)
        facts["domu_vcpus"] = sum(r["vcpus"] for r in domus)
        Host.objects.filter(pk=host.pk).update(facts=facts)


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
    argv = commands.xl_create(path, policy=_policy(domain.host))
    run(ctx, argv, f"Create {domain.name} (xl create)")


def _set(domain: Domain, **values: Any) -> None:
    Domain.objects.filter(pk=domain.pk).update(**values)
    for key, value in values.items():
        setattr(domain, key, value)


def _finish(ctx: JobContext, domain: Domain, verb: str) -> str:
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


# --- create -----------------------------------------------------------------------------------


@job_kind(actions.CREATE)
@reads_back
def create(ctx: JobContext) -> str:
    domain = _domain(ctx)
    volume = domain.volume
    if ctx.job.params.get("new_volume") and volume is not None:
        ctx.progress(10, f"Creating volume {volume.dataset}")
        _create_volume(ctx, volume)
    ctx.progress(35, "Writing the config")
    path = write_config(ctx, domain)
    if ctx.redelivered and find(ctx, domain) is not None:
        ctx.note("Already created", f"{domain.name} is in xl list (this job was redelivered)")
    else:
        ctx.progress(55, "xl create")
        xl_create(ctx, domain, path)
    _set(domain, should_run=True)
    return _finish(ctx, domain, "created")


def _create_volume(ctx: JobContext, volume: Volume) -> None:
    if volume.state == Volume.State.READY:
        ctx.note("Volume already made", volume.dataset)
        return
    argv = commands.zfs_create_volume(volume.dataset, volume.size_bytes, sparse=volume.sparse)
    try:
        run(ctx, argv, f"Create volume {volume.dataset}")
    except DatasetExists:
        if not ctx.redelivered:
            _forget_volume(volume)
            raise
        ctx.note("Volume exists", "made by the first delivery of this job")
    except Dom0Error:
        _forget_volume(volume)
        raise
    # From here on the volume exists: it stays listed (READY) whatever happens next.
    Volume.objects.filter(pk=volume.pk).update(state=Volume.State.READY)


def _forget_volume(volume: Volume) -> None:
    """Nothing was made on the host: drop the row the form created for it."""
    Domain.objects.filter(volume=volume).update(volume=None)
    Volume.objects.filter(pk=volume.pk, state=Volume.State.CREATING).delete()


# --- lifecycle --------------------------------------------------------------------------------


@job_kind(actions.START)
@reads_back
def start(ctx: JobContext) -> str:
    domain = _domain(ctx)
    ctx.progress(20, "Starting")
    created = start_domain(ctx, domain)
    _set(domain, should_run=True)
    return _finish(ctx, domain, "started" if created else "was already running")


@job_kind(actions.SHUTDOWN)
@reads_back
def shutdown(ctx: JobContext) -> str:
    domain = _domain(ctx)
    force = bool(ctx.job.params.get("force"))
    wait = int(ctx.job.params.get("timeout") or DEFAULT_SHUTDOWN_TIMEOUT)
    if find(ctx, domain) is None:
        _set(domain, should_run=False)
        ctx.note("Not running", f"{domain.name} is not in xl list")
        return _finish(ctx, domain, "was not running")
    _set(domain, should_run=False)
    ctx.progress(30, "Pressing the ACPI power button" if force else "Asking the guest to shut down")
    label = f"Shut down {domain.name}" + (" (ACPI power button)" if force else "")
    run(ctx, commands.xl_shutdown(domain.name, wait=True, force=force), label, timeout=wait)
    return _finish(ctx, domain, "shut down")


@job_kind(actions.REBOOT)
@reads_back
def reboot(ctx: JobContext) -> str:
    domain = _domain(ctx)
    force = bool(ctx.job.params.get("force"))
    if find(ctx, domain) is None:
        raise StepFailed(f"{domain.name} is not running; start it instead.")
    label = f"Reboot {domain.name}" + (" (ACPI reset)" if force else "")
    run(ctx, commands.xl_reboot(domain.name, force=force), label)
    _set(domain, should_run=True)
    return _finish(ctx, domain, "rebooted")


def _pause(ctx: JobContext, paused: bool) -> str:
    domain = _domain(ctx)
    row = find(ctx, domain)
    if row is None:
        raise StepFailed(f"{domain.name} is not running.")
    if (row["state"] == "paused") == paused:
        ctx.note("Nothing to do", f"{domain.name} is already {'paused' if paused else 'running'}")
    elif paused:
        run(ctx, commands.xl_pause(domain.name), f"Pause {domain.name}")
    else:
        run(ctx, commands.xl_unpause(domain.name), f"Unpause {domain.name}")
    return _finish(ctx, domain, "paused" if paused else "unpaused")


@job_kind(actions.PAUSE)
@reads_back
def pause(ctx: JobContext) -> str:
    return _pause(ctx, True)


@job_kind(actions.UNPAUSE)
@reads_back
def unpause(ctx: JobContext) -> str:
    return _pause(ctx, False)


def destroy_if_present(ctx: JobContext, domain: Domain) -> bool:
    if find(ctx, domain) is None:
        ctx.note("Not running", f"{domain.name} is not in xl list; nothing to destroy")
        return False
    try:
        run(ctx, commands.xl_destroy(domain.name), f"Destroy {domain.name} (xl destroy)")
    except DomainNotFound:
        ctx.note("Already gone", f"{domain.name} disappeared before xl destroy")
    return True


@job_kind(actions.DESTROY)
@reads_back
def destroy(ctx: JobContext) -> str:
    domain = _domain(ctx)
    _set(domain, should_run=False)
    destroy_if_present(ctx, domain)
    return _finish(ctx, domain, "destroyed")


# --- finish install, media ----------------------------------------------------------------------


@job_kind(actions.FINISH_INSTALL)
@reads_back
def finish_install(ctx: JobContext) -> str:
    """Handbook B6: the cdrom is already gone from the new config version; re-create the domU."""
    domain = _domain(ctx)
    ctx.progress(15, "Writing the config without the cdrom")
    path = write_config(ctx, domain)
    ctx.progress(35, "Destroying the installer run")
    destroy_if_present(ctx, domain)
    ctx.progress(60, "Creating it from its own disk")
    xl_create(ctx, domain, path)
    _set(domain, should_run=True)
    return _finish(ctx, domain, "re-created from its own disk")


@job_kind(actions.CD_INSERT)
@reads_back
def cd_insert(ctx: JobContext) -> str:
    domain = _domain(ctx)
    iso = IsoImage.objects.select_related("host").filter(pk=ctx.job.params.get("iso_id")).first()
    if iso is None or iso.host_id != domain.host_id:
        raise StepFailed("That ISO image is no longer in this host's library.")
    argv = commands.xl_cd_insert(domain.name, cfg.CDROM_VDEV, iso.path, policy=_policy(domain.host))
    run(ctx, argv, f"Insert {iso.file_name} (xl cd-insert)")
    return _finish(ctx, domain, f"has {iso.file_name} in its cdrom")


@job_kind(actions.CD_EJECT)
@reads_back
def cd_eject(ctx: JobContext) -> str:
    domain = _domain(ctx)
    run(ctx, commands.xl_cd_eject(domain.name, cfg.CDROM_VDEV), "Eject the cdrom (xl cd-eject)")
    return _finish(ctx, domain, "has an empty cdrom")


# --- delete -----------------------------------------------------------------------------------


@job_kind(actions.DELETE)
def delete(ctx: JobContext) -> str:
    domain = _domain(ctx)
    _set(domain, should_run=False)
    ctx.progress(20, "Destroying")
    destroy_if_present(ctx, domain)
    path = cfg.config_path(domain.host.config_dir, domain.name)
    with ctx.step(f"Remove the config {path}") as record:
        try:
            ctx.transport.remove(path)
            record.output = "removed"
        except RemoteFileMissing:
            record.output = "already gone"
    volume = domain.volume
    gone = [f"config {path}"]
    if ctx.job.params.get("destroy_volume") and volume is not None:
        ctx.progress(60, f"Destroying volume {volume.dataset}")
        run(ctx, commands.zfs_destroy(volume.dataset), f"Destroy volume {volume.dataset}")
        gone.append(f"volume {volume.dataset}")
    name = domain.name
    domain.delete()
    if ctx.job.params.get("destroy_volume") and volume is not None:
        volume.delete()
    read_back(ctx)
    return f"Deleted {name}: " + ", ".join(gone)


# --- import -----------------------------------------------------------------------------------


@job_kind(actions.IMPORT)
def import_domain(ctx: JobContext) -> str:
    """Adopt a domU found on the host: its config file, or failing that `xl list -l`."""
    host = ctx.job.host
    assert host is not None
    name = str(ctx.job.params.get("name", ""))
    if Domain.objects.filter(host=host, name=name).exists():
        return f"{name} is already managed"
    path = cfg.config_path(host.config_dir, name)
    text = _read_config(ctx, path)
    source = path
    if text is None:
        result = run(ctx, commands.xl_list_long(name), f"Read {name}'s live config (xl list -l)")
        details = parsers.parse_xl_list_long(result.stdout)
        if not details:
            raise StepFailed(f"{name} is not on the host any more.")
        text = cfg.render(_config_from_detail(details[0]))
        source = "xl list -l"
    parsed = cfg.parse(text, source=source)
    if parsed.vncpasswd:
        ctx.secret(parsed.vncpasswd)
    values = cfg.summary(parsed)
    domain = Domain(
        host=host,
        name=name,
        owner=ctx.job.requested_by,
        memory_mb=int(values["memory_mb"]),  # type: ignore[call-overload]
        vcpus=int(values["vcpus"]),  # type: ignore[call-overload]
        imported=True,
    )
    with transaction.atomic():
        domain.save()
        records.add_version(
            domain, text, author=ctx.job.requested_by, note=f"Imported from {source}"
        )
    read_back(ctx, domain)
    return f"Imported {name} from {source}"


def _read_config(ctx: JobContext, path: str) -> str | None:
    with ctx.step(f"Read {path}") as record:
        try:
            text = ctx.transport.read_file(path).decode("utf-8", "replace")
        except RemoteFileMissing:
            record.output = "no such file; falling back to xl list -l"
            return None
        record.output = ctx.redact(text)
        return text


def _config_from_detail(detail: parsers.DomainDetail) -> Any:
    from hosts.dom0.xlcfg import DiskSpec, DomainConfig, VifSpec

    disks = tuple(
        DiskSpec(
            vdev=d.vdev,
            target=d.pdev_path,
            format=d.format if d.pdev_path else "empty",
            access="rw" if d.readwrite else "r",
            cdrom=d.is_cdrom,
        )
        for d in detail.disks
    )
    vnc = detail.vnc
    return DomainConfig(
        name=detail.name,
        memory=detail.max_memory_mib or detail.memory_mib,
        vcpus=detail.max_vcpus or 1,
        builder=detail.type or "hvm",
        disks=disks,
        vifs=tuple(VifSpec(bridge=n.bridge, mac=n.mac) for n in detail.nics),
        vnc=vnc.enable if vnc else None,
        vnclisten=vnc.listen if vnc else None,
        vncdisplay=vnc.display if vnc and vnc.findunused is False else None,
        vncunused=vnc.findunused if vnc else None,
    )


# --- autostart --------------------------------------------------------------------------------


@job_kind(actions.AUTOSTART)
def autostart(ctx: JobContext) -> str:
    """Start the autostart domUs in order, waiting each one's delay before the next.

    One job rather than one start job per domU with a countdown: a single worker then runs them
    strictly in order, and the delay is counted from when the previous domU really started.
    """
    ids = [int(i) for i in ctx.job.params.get("domain_ids", [])]
    by_id = {d.pk: d for d in Domain.objects.select_related("host").filter(pk__in=ids)}
    ordered = [by_id[i] for i in ids if i in by_id]
    started, failed = [], []
    for n, domain in enumerate(ordered):
        ctx.check_cancelled()
        domain.refresh_from_db()
        if not (domain.autostart and domain.should_run):
            ctx.note(f"Skip {domain.name}", "autostart was switched off or it was stopped")
            continue
        if domain.vnc_password:
            ctx.secret(domain.vnc_password)
        ctx.progress(100 * n / max(1, len(ordered)), f"Starting {domain.name}")
        try:
            if start_domain(ctx, domain):
                started.append(domain.name)
        except HostUnreachable:
            raise
        except Dom0Error as exc:
            failed.append(f"{domain.name}: {exc}")
            continue
        if n < len(ordered) - 1 and domain.autostart_delay:
            _sleep(
                ctx,
                domain.autostart_delay,
                f"Waiting {domain.autostart_delay}s after {domain.name}",
            )
    read_back(ctx)
    if failed:
        raise StepFailed("Autostart could not start " + "; ".join(failed))
    return f"Started {', '.join(started) or 'nothing'} ({ctx.job.params.get('reason', '')})"


def _sleep(ctx: JobContext, seconds: int, label: str) -> None:
    with ctx.step(label) as record:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ctx.check_cancelled()
            time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        record.output = f"waited {seconds}s"
