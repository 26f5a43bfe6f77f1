"""Templates and clones: make a template of a stopped domU, clone it, promote, delete it.

Each command that changes the host is skipped on a redelivered job if an earlier delivery ran
it successfully (its step is in the log), so a job whose worker died finishes its own work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from dom0 import commands, parsers
from dom0.errors import DatasetMissing, Dom0Error, HostUnreachable, RemoteFileMissing
from domains import actions, cfg, records
from domains.clones import logic, naming, promotion
from domains.jobs.common import (
    destroy_if_present,
    find,
    finish,
    load_domain,
    read_back,
    reads_back,
    run,
    set_fields,
    write_config,
    xl_create,
)
from domains.models import Domain, DomainTemplate
from jobs.choices import StepStatus
from jobs.context import JobContext, StepFailed
from jobs.enqueue import Target, add_targets
from jobs.registry import job_kind
from storage.models import Volume


def _once(ctx: JobContext, argv: Sequence[str], label: str, timeout: float = 120) -> None:
    """Run a host-changing command unless an earlier delivery of this job ran it successfully."""
    if ctx.redelivered and ctx.job.steps.filter(argv=list(argv), status=StepStatus.OK).exists():
        ctx.note(f"{label}: done before", "an earlier delivery of this job ran it")
        return
    run(ctx, argv, label, timeout=timeout)


def _origin(ctx: JobContext, dataset: str) -> str:
    """Return `zfs get origin` of a dataset ('' for one that is not a clone)."""
    result = run(ctx, commands.zfs_get(dataset, ["origin"]), f"Read the origin of {dataset}", 30)
    return parsers.parse_zfs_get(result.stdout).get("origin") or ""


def _sentence(exc: Exception) -> str:
    return str(exc).rstrip(". ") + "."


def _remove_config(ctx: JobContext, path: str) -> None:
    """Remove a config file from the host (gone already is fine: the job may run again)."""
    with ctx.step(f"Remove {path}") as record:
        try:
            ctx.transport.remove(path)
            record.output = "removed"
        except RemoteFileMissing:
            record.output = "not there"


# --- make a template ---------------------------------------------------------------------------
@job_kind(actions.MAKE_TEMPLATE)
def make_template(ctx: JobContext) -> str:
    """Snapshot all its volumes at once, make them read-only, remove its config: a template."""
    domain = load_domain(ctx)
    host, name = domain.host, str(ctx.job.params.get("template_name") or domain.name)
    ctx.progress(5, "Checking that it is stopped")
    if find(ctx, domain) is not None:
        raise StepFailed(
            f"{domain.name} is running (it is in xl list): shut it down, then make the "
            "template. Nothing was changed."
        )
    text = records.current_text(domain)
    disks = [domain.volume, *domain.extra_volumes.order_by("dataset")]
    volumes = [v for v in disks if v is not None]
    _check_can_become_template(domain, text, volumes)
    snaps = [f"{v.dataset}@{logic.SNAPSHOT}" for v in volumes]
    ctx.progress(20, "Snapshotting its volumes (one atomic zfs snapshot)")
    try:
        _once(ctx, commands.zfs_snapshot(snaps), "Snapshot every volume at once")
    except Dom0Error as exc:
        raise StepFailed(
            f"zfs snapshot failed: {exc}. It is atomic, so no snapshot was made; {domain.name} "
            "is unchanged and stays a domU."
        ) from exc
    done: list[str] = []
    try:
        for volume in volumes:
            ctx.progress(40, f"Making {volume.dataset} read-only")
            _once(ctx, commands.zfs_set_readonly(volume.dataset, True), f"readonly=on {volume}")
            done.append(volume.dataset)
        path = cfg.config_path(host.config_dir, domain.name)
        ctx.progress(60, f"Removing {path}")
        _remove_config(ctx, path)
    except Dom0Error as exc:
        left = [v.dataset for v in volumes if v.dataset not in done]
        raise StepFailed(
            f"{_sentence(exc)} On {host.name} now: the snapshots {', '.join(snaps)} exist; "
            f"readonly=on is set on {', '.join(done) or 'none of its volumes'}"
            + (f" and not on {', '.join(left)}" if left else "")
            + f"; its config file is still there. {domain.name} stays a domU in the panel. To "
            "undo by hand: `zfs set readonly=off <volume>` and `zfs destroy <snapshot>` for each; "
            "or fix the cause and make the template again."
        ) from exc
    template = _record_template(ctx, domain, name, text, volumes)
    read_back(ctx)
    return f"{domain.name} is now the template {template.name} ({len(volumes)} volume(s))"


def _check_can_become_template(domain: Domain, text: str, volumes: list[Volume]) -> None:
    if not volumes:
        raise StepFailed(f"{domain.name} has no volume to make a template of; nothing changed.")
    if any(v.state != Volume.State.READY for v in volumes):
        raise StepFailed(f"Not all of {domain.name}'s volumes are ready; nothing changed.")
    foreign = naming.foreign_disks(text)
    unknown = set(naming.config_disks(text)) - {v.dataset for v in volumes}
    if foreign or unknown:
        raise StepFailed(
            f"{domain.name}'s config has disks that are not its panel volumes "
            f"({', '.join(sorted(foreign) + sorted(unknown))}): clones would share them. "
            "Nothing changed."
        )


def _record_template(
    ctx: JobContext, domain: Domain, name: str, text: str, volumes: list[Volume]
) -> DomainTemplate:
    """The host has the template: write it in the panel and forget the domU (its jobs stay)."""
    try:
        with transaction.atomic():
            template = DomainTemplate.objects.create(
                host=domain.host,
                name=name,
                owner=domain.owner,
                team=domain.team,
                description=domain.description,
                state=DomainTemplate.State.READY,
                config_text=text,
                snapshot=logic.SNAPSHOT,
                guest_type=domain.guest_type,
                memory_mb=domain.memory_mb,
                vcpus=domain.vcpus,
            )
            template.volumes.set(volumes)
            Volume.objects.filter(pk__in=[v.pk for v in volumes]).update(readonly=True)
            domain.delete()
    except IntegrityError as exc:
        raise StepFailed(
            f"A template named {name} was made on {domain.host.name} meanwhile. The host has the "
            f"snapshots and read-only volumes and no config file for {domain.name}, which the "
            "panel still lists as a domU: make the template again with another name."
        ) from exc
    add_targets(ctx.job, [Target("template", template, label=template.name)])
    ctx.result(template=str(template.code))
    return template


# --- clone -------------------------------------------------------------------------------------
@job_kind(actions.CLONE)
@reads_back
def clone(ctx: JobContext) -> str:
    """`zfs clone` the template's volumes, write the clone's config and `xl create` it."""
    domain = load_domain(ctx)
    template = DomainTemplate.objects.filter(pk=ctx.job.params.get("template_id")).first()
    made: list[Volume] = []
    try:
        why = "the template was deleted" if template is None else logic.why_not_usable(template)
        if why:
            raise StepFailed(f"Cannot clone: {why}")
        assert template is not None
        volumes = [domain.volume, *domain.extra_volumes.order_by("dataset")]
        for volume in [v for v in volumes if v is not None]:
            if volume.state == Volume.State.READY:
                continue  # cloned by an earlier delivery of this job
            ctx.progress(10 + 30 * len(made) // max(1, len(volumes)), f"zfs clone {volume}")
            argv = commands.zfs_clone(volume.origin, volume.dataset, properties={"volmode": "dev"})
            _once(ctx, argv, f"Clone {volume.origin} to {volume.dataset}")
            made.append(volume)
            Volume.objects.filter(pk=volume.pk).update(state=Volume.State.READY)
        ctx.progress(50, "Writing the config")
        text = naming.clone_config(template.config_text, _spec(domain))
        records.add_version(
            domain, text, author=ctx.job.requested_by, note=f"Cloned from template {template.name}"
        )
        _note_pci(ctx, domain, template)
        path = write_config(ctx, domain)
        ctx.progress(70, "xl create")
        if not (ctx.redelivered and find(ctx, domain) is not None):
            xl_create(ctx, domain, path)
    except (Dom0Error, StepFailed, ValueError) as exc:
        _undo(ctx, domain, made, exc)
        raise
    set_fields(domain, should_run=True, template=template)
    return finish(ctx, domain, f"created from template {template.name}")


def _note_pci(ctx: JobContext, domain: Domain, template: DomainTemplate) -> None:
    devices = naming.pci_devices(template.config_text)
    if devices:
        ctx.note(
            "PCI devices not cloned",
            f"The template's config passes {', '.join(devices)} through; {domain.name}'s config "
            "has no `pci` line: a PCI device is given to one domU at a time. Give it a device "
            "on its page (PCI devices) if it needs one.",
        )


def _spec(domain: Domain) -> naming.CloneSpec:
    volumes = [domain.volume, *domain.extra_volumes.order_by("dataset")]
    disks = {v.origin.split("@")[0]: v.dataset for v in volumes if v is not None and v.origin}
    nics = list(domain.nics.order_by("position"))
    return naming.CloneSpec(
        name=domain.name,
        memory_mb=domain.memory_mb,
        vcpus=domain.vcpus,
        disks=disks,
        macs=[n.mac for n in nics],
        bridges=[n.bridge for n in nics],
        vnc_display=domain.vnc_display,
        vnc_password=domain.vnc_password,
    )


def _undo(ctx: JobContext, domain: Domain, made: list[Volume], cause: Exception) -> None:
    """Destroy every clone of the domU on the host and forget it; say in the log what is left.

    Its READY volumes are clones made by this delivery (`made`) or by an earlier one whose
    worker died: all of them are destroyed, not only this delivery's.
    """
    ids = [v.pk for v in logic.domain_volumes(domain)]
    rows = list(Volume.objects.filter(pk__in=ids).order_by("dataset"))
    cloned = [v for v in rows if v.state == Volume.State.READY]
    mine = {v.pk for v in made}
    if isinstance(cause, HostUnreachable):
        left = ", ".join(v.dataset for v in cloned)
        ctx.note(
            "Left on the host",
            f"The host stopped answering: {left or 'no clone'} may be on {domain.host.name}. "
            f"{domain.name} stays in the panel (never started): delete it with its volumes.",
        )
        return
    kept: list[str] = []
    try:
        destroy_if_present(ctx, domain)
        path = cfg.config_path(domain.host.config_dir, domain.name)
        _remove_config(ctx, path)
    except Dom0Error as exc:
        kept.append(f"possibly its config file ({exc})")
    gone: list[str] = []
    for volume in cloned:
        when = "this run" if volume.pk in mine else "an earlier run of this job"
        try:
            run(ctx, commands.zfs_destroy(volume.dataset), f"Destroy the clone {volume.dataset}")
        except DatasetMissing:
            gone.append(f"{volume.dataset} (cloned by {when}; already gone)")
            continue
        except Dom0Error:
            kept.append(volume.dataset)
            continue
        gone.append(f"{volume.dataset} (cloned by {when})")
    destroyed = f"Destroyed {', '.join(gone)}." if gone else "No clone of it was on the host."
    if kept:
        ctx.note(
            "Left on the host",
            f"{destroyed} Could not remove {', '.join(kept)} from {domain.host.name}; "
            f"{domain.name} stays in the panel (never started): delete it with its volumes to "
            "clean up.",
        )
        return
    with transaction.atomic():
        domain.delete()
        Volume.objects.filter(pk__in=ids).delete()
    ctx.note(
        "Cleaned up",
        f"{destroyed} Nothing of {domain.name} is left on the host, and the panel forgot it.",
    )


# --- promote -----------------------------------------------------------------------------------
@job_kind(actions.PROMOTE)
@reads_back
def promote(ctx: JobContext) -> str:
    """`zfs promote` each clone volume of the domU, then read back every affected origin.

    A template whose snapshot moves to the domU's disks gets `snapshot = ""`: it can make no
    more clones (logic.why_not_usable).
    """
    domain = load_domain(ctx)
    volumes = logic.clone_volumes(domain)
    if not volumes:
        return f"{domain.name} has no clone volumes: nothing to promote"
    effects = promotion.effects(domain)
    busy = promotion.busy_clones(effects.templates)
    if busy:
        raise StepFailed(
            f"Clone jobs of {', '.join(t.name for t in effects.templates)} are queued or "
            f"running (#{', #'.join(str(j.pk) for j in busy)}): promoting now would move the "
            "snapshot they clone. Nothing was changed; promote once they have finished."
        )
    ctx.note("What the promote changes", effects.text())
    affected: set[str] = set()
    for volume in volumes:
        origin = _origin(ctx, volume.dataset)
        # Its origin's volume and that origin's other clones change too: read them back.
        affected |= {volume.dataset, volume.origin.split("@")[0]}
        affected |= set(
            Volume.objects.filter(host=domain.host, origin=volume.origin).values_list(
                "dataset", flat=True
            )
        )
        if origin != volume.origin:
            # An earlier run promoted it and died before reading back (its origin is then
            # the old origin's own, or none). Promoting again would move a snapshot the user
            # was never told about (a template made from a clone has an origin too).
            ctx.note(
                "Already promoted",
                f"{volume.dataset}'s origin is {origin or '-'} on the host, not "
                f"{volume.origin}: it was promoted already; not promoting it again.",
            )
            _lose_snapshot(ctx, domain, volume.origin, volume.dataset)
            continue
        run(ctx, commands.zfs_promote(volume.dataset), f"Promote {volume.dataset}")
        _lose_snapshot(ctx, domain, origin, volume.dataset)
    ctx.progress(70, "Reading the origins back")
    origins = _store_origins(ctx, domain, sorted(affected))
    ctx.result(origins=origins)
    return finish(ctx, domain, "promoted: its disks now hold the snapshot they were cloned from")


def _lose_snapshot(ctx: JobContext, domain: Domain, snapshot: str, dataset: str) -> None:
    """Mark the templates whose snapshot `snapshot` just moved to `dataset`: no more clones."""
    if not snapshot:
        return
    for template in logic.templates_of(domain.host_id, snapshot):
        DomainTemplate.objects.filter(pk=template.pk).update(snapshot="")
        ctx.note(
            f"Template {template.name} can make no more clones",
            f"{snapshot} is now {dataset}@{snapshot.split('@', 1)[1]}: {template.name}'s volumes "
            f"are clones of {domain.name}'s disks. {template.name} can still be deleted.",
        )


def _store_origins(ctx: JobContext, domain: Domain, datasets: list[str]) -> dict[str, str]:
    """Read `zfs get origin` of each affected volume the panel has made (READY rows only: a
    clone still being made may not be on the host yet)."""
    origins = {}
    for dataset in datasets:
        rows = Volume.objects.filter(host=domain.host, dataset=dataset)
        if not rows.filter(state=Volume.State.READY).exists():
            if rows.exists():
                ctx.note("Origin not read", f"{dataset} is not ready (being made or destroyed)")
            continue
        origins[dataset] = _origin(ctx, dataset)
        rows.update(origin=origins[dataset])
    return origins


# --- delete a template -------------------------------------------------------------------------
@job_kind(actions.TEMPLATE_DELETE)
def template_delete(ctx: JobContext) -> str:
    """`zfs destroy -r` each template volume (its snapshot goes with it), then forget it."""
    template = DomainTemplate.objects.filter(pk=ctx.job.params.get("template_id")).first()
    if template is None:
        return "The template was already removed from the panel"
    volumes = logic.template_volumes(template)
    gone: list[str] = []
    for volume in volumes:
        ctx.progress(10 + 70 * len(gone) // max(1, len(volumes)), f"Destroying {volume}")
        try:
            _once(ctx, commands.zfs_destroy(volume.dataset, recursive=True), f"Destroy {volume}")
        except Dom0Error as exc:
            DomainTemplate.objects.filter(pk=template.pk).update(state=_state(gone))
            raise StepFailed(
                f"{_sentence(exc)} Destroyed so far: {', '.join(gone) or 'nothing'}; the template "
                f"{'is marked failed' if gone else 'stays as it was'}. If zfs names dependent "
                "clones, the panel did not know them: delete or promote those domUs first."
            ) from exc
        gone.append(volume.dataset)
    name = template.name
    with transaction.atomic():
        template.delete()
        Volume.objects.filter(pk__in=[v.pk for v in volumes]).delete()
    read_back(ctx)
    return f"Deleted template {name}: destroyed {', '.join(gone) or 'no volumes'}"


def _state(gone: list[Any]) -> str:
    return DomainTemplate.State.FAILED if gone else DomainTemplate.State.READY
