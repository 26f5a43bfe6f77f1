"""Migration access (issue 14): let a source Dom0 reach other Dom0s over SSH on its own, for the
direct disk transfer and `xl migrate`.

For source S and each chosen target T: S gets a key pair (made once, `ssh-keygen` on S; the
public half is kept in `S.migration_public_key`); T's `~<ssh_user>/.ssh/authorized_keys` (the home
read on T with `getent passwd`) gets that public key once, as `from="<S's address>",restrict ...`
(only commands, only from S); S's known_hosts file for migrations gets T's host key as the
panel pinned it at first contact, under the name S's ssh is given. Idempotent: a second run
changes nothing. Registered as a section of the host page (`hosts.sections`) and a job kind.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from accounts import access
from dom0 import migration_access as files
from dom0.errors import Dom0Error, RemoteFileMissing
from dom0.transports.hostkeys import host_key_info
from hosts.choices import MigrationTransfer, Transport
from hosts.models import Host
from hosts.sections import register_section
from jobs.choices import ACTIVE_JOB_STATUSES, JobStatus
from jobs.context import JobContext, StepFailed
from jobs.enqueue import Target, enqueue
from jobs.models import Job, JobTarget
from jobs.registry import job_kind

SETUP = "host.migration_access"


def simulated(host: Host) -> bool:
    return host.transport == Transport.SIM or bool(host.sim_dir)


def peer_name(host: Host) -> str:
    """The name a source's ssh (the direct transfer, `xl migrate`) is given for `host`: a
    simulated host is found by its name (the simulator's ssh looks for the sibling state
    directory or hostname), a real one by its address. The one home of this rule."""
    return host.name if simulated(host) else host.address


def accepts(target: Host, source: Host) -> bool:
    """Whether `target` trusts `source`'s current migration key (a set-up to it succeeded)."""
    return bool(source.migration_public_key) and target.name in trusted_by(source)


def untrusted(targets: list[Host]) -> list[Host]:
    """Targets without a pinned host key, which the set-up refuses (simulated ones excepted)."""
    return [t for t in targets if not t.host_key and not simulated(t)]


def queue_setup(source: Host, targets: list[Host], *, user: Any) -> Job:
    """Queue setting up S → each T (ValueError for an empty list or a target without a key)."""
    targets = [t for t in targets if t.pk != source.pk]
    if not targets:
        raise ValueError("Pick at least one other host.")
    missing = untrusted(targets)
    if missing:
        names = ", ".join(t.name for t in missing)
        raise ValueError(
            f"No pinned host key for {names}: connect to it once first (its page: Fetch host "
            "key, then Trust this key)."
        )
    return enqueue(
        SETUP,
        title=f"Set up migration access from {source.name} to "
        + ", ".join(t.name for t in targets),
        targets=[
            Target.locking("host", source),
            *[Target("peer", t, label=t.name) for t in targets],
        ],
        user=user,
        params={"target_ids": [t.pk for t in targets]},
    )


@job_kind(SETUP)
def setup(ctx: JobContext) -> str:
    source: Host = ctx.target("host")
    ids = [int(i) for i in ctx.job.params.get("target_ids", [])]
    targets = list(Host.objects.filter(pk__in=ids).exclude(pk=source.pk).order_by("name"))
    if not targets:
        raise StepFailed("The chosen hosts were removed from the panel. Nothing was changed.")
    missing = untrusted(targets)
    if missing:
        raise StepFailed(
            f"No pinned host key for {', '.join(t.name for t in missing)}: connect to it once "
            f"first. Nothing was changed on {source.name}."
        )
    ctx.progress(5, f"Key pair on {source.name}")
    public = _key_pair(ctx, source)
    trusted: list[str] = []
    for n, target in enumerate(targets):
        ctx.progress(30 + 60 * n / len(targets), f"Authorize the key on {target.name}")
        _authorize(ctx, source, target, public)
        trusted.append(target.name)
    ctx.progress(92, f"Known hosts on {source.name}")
    _known_hosts(ctx, source, targets)
    ctx.result(trusted=trusted, public_key=public)
    return f"{source.name} can reach {', '.join(trusted)} with its migration key"


def _key_pair(ctx: JobContext, source: Host) -> str:
    t = ctx.transport_for(source)
    with ctx.step(f"Make {files.MIGRATE_DIR} on {source.name}") as record:
        t.makedirs(files.MIGRATE_DIR)
        record.output = "exists"
    if t.stat(files.MIGRATE_KEY) is None:
        ctx.run(files.ssh_keygen_migrate(source.name), label="Make the migration key", on=t)
    else:
        ctx.note("Key pair exists", f"{files.MIGRATE_KEY} on {source.name}: kept as it is")
    with ctx.step(f"Read {files.MIGRATE_KEY}.pub on {source.name}") as record:
        text = t.read_file(files.MIGRATE_KEY + ".pub").decode("utf-8", "replace")
        public = files.public_key_line(text)
        record.output = public
    Host.objects.filter(pk=source.pk).update(migration_public_key=public)
    return public


def _authorize(ctx: JobContext, source: Host, target: Host, public: str) -> None:
    t = ctx.transport_for(target)
    path = files.authorized_keys_path(_home(ctx, target))
    ssh_dir = path.rsplit("/", 1)[0]
    line = files.authorized_key_line(public, source.address)
    with ctx.step(f"Add {source.name}'s key to {path} on {target.name}") as record:
        try:
            existing = t.read_file(path).decode("utf-8", "replace")
        except RemoteFileMissing:
            existing = ""
        text, added = files.with_authorized_key(existing, line)
        if not added:
            record.output = f"already there: {path} on {target.name} unchanged"
            return
        created = t.stat(ssh_dir) is None
        t.makedirs(ssh_dir)
        t.write_file(path, text.encode(), 0o600)
        record.output = (
            f"{'created ' + ssh_dir + ' and ' if created else ''}added to {path} (mode 0600) "
            f"on {target.name}:\n{line}"
        )
    if created:
        # makedirs leaves the Dom0's umask mode (0755); sshd wants it private.
        ctx.run(files.chmod_private(ssh_dir), label=f"chmod 700 {ssh_dir}", on=t)


def _home(ctx: JobContext, target: Host) -> str:
    """The ssh user's home on `target`, as its passwd entry says (not guessed)."""
    argv = files.getent_passwd(target.ssh_user)
    result = ctx.run(
        argv, label=f"Read {target.ssh_user}'s home on {target.name}", check=False,
        on=ctx.transport_for(target),
    )  # fmt: skip
    try:
        if result.ok:
            return files.parse_home(result.stdout, target.ssh_user)
    except Dom0Error:
        pass
    said = (result.stderr or result.stdout).strip() or "no such user"
    raise StepFailed(
        f"Could not read the home directory of {target.ssh_user} on {target.name} (`getent "
        f"passwd {target.ssh_user}` exit {result.rc}: {said}). Check the host's SSH user in its "
        f"settings. Nothing was changed on {target.name}."
    )


def _known_hosts(ctx: JobContext, source: Host, targets: list[Host]) -> None:
    t = ctx.transport_for(source)
    path = files.MIGRATE_KNOWN_HOSTS
    with ctx.step(f"Pin the targets' host keys in {path} on {source.name}") as record:
        try:
            text = t.read_file(path).decode("utf-8", "replace")
        except RemoteFileMissing:
            text = files.KNOWN_HOSTS_HEADER
        notes, changed = [], False
        for target in targets:
            if not target.host_key:
                # A simulated Dom0 has no sshd: the simulator's ssh finds its peer by name and
                # checks no key, so there is nothing to pin; trusted by name.
                notes.append(f"{target.name}: simulated, trusted by name (no host key to pin)")
                continue
            line = files.known_hosts_line(peer_name(target), target.ssh_port, target.host_key)
            text, added = files.with_known_host(text, line)
            changed |= added
            notes.append(f"{'wrote' if added else 'already there'}: {line}")
        if changed or t.stat(path) is None:
            t.write_file(path, text.encode(), 0o644)
        else:
            notes.append(f"{path} unchanged")
        record.output = "\n".join(notes)


# --- the host page's section ---------------------------------------------------------------------


def own_setups(host: Host) -> Any:
    """The set-up jobs with `host` as their source (not those where it was a target)."""
    ct = ContentType.objects.get_for_model(Host)
    rows = JobTarget.objects.filter(role="host", content_type=ct, object_id=host.pk)
    return Job.objects.filter(kind=SETUP, pk__in=rows.values("job_id")).order_by("-id")


def trusted_by(host: Host) -> list[str]:
    """The hosts whose authorized_keys hold `host`'s key, by the successful set-ups (names)."""
    names: set[str] = set()
    for result in (
        own_setups(host).filter(status=JobStatus.SUCCEEDED).values_list("result", flat=True)
    ):
        if (result or {}).get("public_key") == host.migration_public_key:
            names.update((result or {}).get("trusted", []))
    return sorted(names)


def section_context(request: Any, host: Host) -> dict[str, Any]:
    fingerprint = ""
    if host.migration_public_key:
        try:
            fingerprint = host_key_info(host.migration_public_key).fingerprint_sha256
        except Dom0Error:
            fingerprint = "(unreadable key)"
    job = own_setups(host).first()
    return {
        "ma_direct": host.migration_transfer == MigrationTransfer.DIRECT,
        "ma_fingerprint": fingerprint,
        "ma_trusted": trusted_by(host),
        "ma_job": job,
        "ma_running": job is not None and job.status in ACTIVE_JOB_STATUSES,
        "ma_others": Host.objects.exclude(pk=host.pk).order_by("name"),
        "ma_is_admin": access.is_admin(request.user),
    }


register_section("migration_access", "hosts/_migration_access.html", section_context, order=45)


def queue_from_post(source: Host, codes: list[str], user: Any) -> Job:
    """Queue the set-up for the ticked hosts (ValueError when none is ticked: an empty form is
    never "all hosts", which would hand the key to every Dom0 at once)."""
    if not codes:
        raise ValueError(
            f"Tick at least one host that should accept {source.name}'s migration key."
        )
    others = Host.objects.exclude(pk=source.pk).order_by("name")
    chosen = list(others.filter(code__in=codes))
    with transaction.atomic():
        return queue_setup(source, chosen, user=user)
