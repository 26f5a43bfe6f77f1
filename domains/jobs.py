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
from hosts.choices import StepStatus
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
from hosts.jobs import locks
from hosts.jobs.context import JobContext, StepFailed, tail
from hosts.jobs.registry import job_kind
from hosts.jobs.volumes import destroy_dataset, list_volumes
from hosts.listing import domu_totals, listing_row
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
    ctx.progress(5, "Checking the host's config directory")
    _refuse_foreign_config(ctx, domain)
    volume = domain.volume
    if ctx.job.params.get("new_volume") and volume is not None:
        ctx.progress(10, f"Creating volume {volume.dataset}")
        _create_volume(ctx, domain, volume)
    ctx.progress(35, "Writing the config")
    path = write_config(ctx, domain)
    if ctx.redelivered and find(ctx, domain) is not None:
        ctx.note("Already created", f"{domain.name} is in xl list (this job was redelivered)")
    else:
        ctx.progress(55, "xl create")
        xl_create(ctx, domain, path)
    _set(domain, should_run=True)
    return _finish(ctx, domain, "created")


def _refuse_foreign_config(ctx: JobContext, domain: Domain) -> None:
    """Fail, changing nothing, if the host has a config file of that name the panel did not write.

    The panel's config directory is the handbook's own (/usr/local/etc/xen), where people keep
    hand-written configs; writing ours would silently replace one.
    """
    host = domain.host
    path = cfg.config_path(host.config_dir, domain.name)
    with ctx.step(f"Check that {path} is free") as record:
        if ctx.transport.stat(path) is None:
            record.output = "no such file"
            return
        text = ctx.transport.read_file(path).decode("utf-8", "replace")
        if cfg.is_panel_file(text, domain.versions.values_list("text", flat=True)):
            record.output = "a config the panel wrote; it will be replaced"
            return
        # Not a word of the file in the log: it may hold another domU's VNC password.
        record.output = "a config the panel did not write; left untouched"
        name = domain.name
        _drop_domain(domain)
        raise StepFailed(
            f"{path} already exists on {host.name} and was not written by the panel; nothing "
            f"was changed on the host and {name} was removed from the panel. To manage that "
            f"domU here, start it (xl create {path}) and import it from the host's page; "
            "otherwise choose another name."
        )


def _create_volume(ctx: JobContext, domain: Domain, volume: Volume) -> None:
    if volume.state == Volume.State.READY:
        ctx.note("Volume already made", volume.dataset)
        return
    argv = commands.zfs_create_volume(volume.dataset, volume.size_bytes, sparse=volume.sparse)
    # Steps an earlier delivery of this job ran (recorded before this one's own steps).
    earlier = list(ctx.job.steps.filter(argv=argv).values_list("status", flat=True))
    try:
        run(ctx, argv, f"Create volume {volume.dataset}")
    except DatasetExists as exc:
        if not (ctx.redelivered and _made_by_this_job(ctx, volume, earlier)):
            name = domain.name
            _drop_domain(domain)
            raise DatasetExists(
                f"The ZFS dataset {volume.dataset} already exists on {domain.host.name} and this "
                f"job did not make it; the panel left it alone and removed {name}, so nothing "
                "boots on a disk it does not own. To use that volume, import it (Volumes → "
                "Scan) and create the domU on it as an existing disk; or choose another name.",
                argv=exc.argv,
                rc=exc.rc,
                stderr=exc.stderr,
            ) from exc
        ctx.note("Volume exists", "made by the first delivery of this job")
    except Dom0Error:
        _forget_volume(volume)
        raise
    # From here on the volume exists: it stays listed (READY) whatever happens next.
    Volume.objects.filter(pk=volume.pk).update(state=Volume.State.READY)


def _made_by_this_job(ctx: JobContext, volume: Volume, earlier: list[str]) -> bool:
    """Say whether an existing dataset is the one this job's first delivery made.

    `zfs create` here takes no user property to tag it with, so the proof is the job's own step
    log: an earlier delivery ran this exact `zfs create` (and it did not fail: it succeeded or the
    worker died during it), the panel's row was never settled by anyone else, and the dataset has
    exactly the size and reservation asked for.
    """
    if not any(status != StepStatus.FAILED for status in earlier):
        ctx.note("Not ours", "no earlier delivery of this job ran zfs create for it")
        return False
    if volume.state != Volume.State.CREATING:
        ctx.note("Not ours", f"the panel's row for it is {volume.get_state_display().lower()}")
        return False
    row = list_volumes(ctx, volume.host).get(volume.dataset)
    if row is None or row.volsize != volume.size_bytes:
        ctx.note("Not ours", "its size is not the size this job asked for")
        return False
    if row.refreservation is not None and (row.refreservation == 0) != volume.sparse:
        ctx.note("Not ours", "its reservation does not match what this job asked for")
        return False
    return True


def _forget_volume(volume: Volume) -> None:
    """Nothing was made on the host: drop the row the form created for it."""
    Domain.objects.filter(volume=volume).update(volume=None)
    Volume.objects.filter(pk=volume.pk, state=Volume.State.CREATING).delete()


def _drop_domain(domain: Domain) -> None:
    """Remove a domU that was never made (and its never-made volume) from the panel.

    Its config names a disk or file that is not the panel's; a row left behind would offer a
    Start that boots on it.
    """
    volume_id = domain.volume_id
    with transaction.atomic():
        Domain.objects.filter(pk=domain.pk).delete()
        if volume_id is not None:
            Volume.objects.filter(pk=volume_id, state=Volume.State.CREATING).delete()


# --- lifecycle --------------------------------------------------------------------------------


@job_kind(actions.START)
@reads_back
def start(ctx: JobContext) -> str:
    domain = _domain(ctx)
    if records.never_made(domain):
        raise StepFailed(
            f"{domain.name} was never created: its create job stopped before the volume "
            f"{domain.volume.dataset if domain.volume else ''} was made. Delete it and create it "
            "again."
        )
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
    ctx.progress(30, "Pressing the ACPI power button" if force else "Asking the guest to shut down")
    label = f"Shut down {domain.name}" + (" (ACPI power button)" if force else "")
    run(ctx, commands.xl_shutdown(domain.name, wait=True, force=force), label, timeout=wait)
    # Only now: a guest that ignored the request still runs and should still come back after a
    # Dom0 reboot. While this job runs, polls leave should_run alone (observe.settle_stopped).
    _set(domain, should_run=False)
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
    argv = commands.xl_cd_insert(
        domain.name, cfg.CDROM_VDEV, iso.path, policy=domain.host.path_policy()
    )
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
    """Destroy the domU, remove its config and (if asked) its volume; safe to run again."""
    domain = _domain(ctx)
    _set(domain, should_run=False)
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
    name = domain.name
    domain.delete()
    if volume is not None and drop_volume:
        volume.delete()
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
        details = _read_live_config(ctx, name)
        if not details:
            raise StepFailed(f"{name} is not on the host any more.")
        text = cfg.render(_config_from_detail(ctx, details[0]))
        source = "xl list -l"
    parsed = cfg.parse(text, source=source)
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
        # Register the passwords before anything of the text is recorded.
        for password in cfg.passwords(text):
            ctx.secret(password)
        record.output = ctx.redact(cfg.mask_password(text))
        return text


def _read_live_config(ctx: JobContext, name: str) -> list[parsers.DomainDetail]:
    """Run `xl list -l` as a step whose recorded output never shows the VNC password.

    Not `ctx.run`: that records the output before the caller could read the password out of it.
    """
    argv = commands.xl_list_long(name)
    ctx.check_cancelled()
    with ctx.step(f"Read {name}'s live config (xl list -l)", argv) as record:
        result = ctx.transport.run(argv, timeout=XL_TIMEOUT)
        record.rc, record.seconds = result.rc, round(result.seconds, 3)
        out = "\n".join(t.rstrip() for t in (result.stdout, result.stderr) if t)
        record.output = tail(cfg.mask_json_passwords(out))
        if result.rc != 0:
            raise parsers.classify_error(list(argv), result.rc, result.stdout, result.stderr)
        details = parsers.parse_xl_list_long(result.stdout)
        for detail in details:
            if detail.vnc and detail.vnc.password:
                ctx.secret(detail.vnc.password)
        record.output = ctx.redact(record.output)
    return details


def _config_from_detail(ctx: JobContext, detail: parsers.DomainDetail) -> Any:
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
    password = vnc.password if vnc else None
    if vnc and vnc.password_set and not password:
        # Never write a config without the password the domU had: at the next start its console
        # would be open to anyone who reaches the port.
        password = cfg.generate_password()
        ctx.secret(password)
        ctx.note(
            "New VNC password",
            f"xl list -l did not show {detail.name}'s VNC password; the imported config has a "
            "new one (reveal it on the domU's page). It takes effect at the next start.",
        )
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
        vncpasswd=password or None,
    )


# --- autostart --------------------------------------------------------------------------------


@job_kind(actions.AUTOSTART)
def autostart(ctx: JobContext) -> str:
    """Start the autostart domUs in order, waiting each one's delay before the next.

    One job rather than one start job per domU with a countdown: a single worker then runs them
    strictly in order, and the delay is counted from when the previous domU really started. Each
    domU's own lock is taken while it is started, so a job someone queued on it (a shutdown, a
    delete) never runs at the same time; a domU whose lock another job holds is skipped.
    """
    ids = [int(i) for i in ctx.job.params.get("domain_ids", [])]
    by_id = {d.pk: d for d in Domain.objects.select_related("host").filter(pk__in=ids)}
    ordered = [by_id[i] for i in ids if i in by_id]
    started: list[str] = []
    failed: list[str] = []
    for n, domain in enumerate(ordered):
        ctx.check_cancelled()
        holder = locks.acquire(domain.target_key, ctx.job.pk)
        if holder is not None:
            ctx.note(f"Skip {domain.name}", f"job #{holder} is working on it")
            continue
        try:
            ctx.progress(100 * n / len(ordered), f"Starting {domain.name}")
            ran = _autostart_one(ctx, domain, started, failed)
        finally:
            locks.release(domain.target_key, ctx.job.pk)
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
