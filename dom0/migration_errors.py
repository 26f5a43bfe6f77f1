"""The errors of moving a domU between Dom0s: typed errors for `xl migrate`, `zfs send` and
`zfs recv`, and the classifiers `dom0.classify` asks first for those commands.

Every migration error says where the domain is (`where`: `source`, `destination` or
`unknown`), because a job must never leave it running on both hosts or on neither. Texts come
from xen-project/xen c447b7308b (tools/xl/xl_migrate.c, libxl), openzfs/zfs be7657e3f2
(lib/libzfs/libzfs_sendrecv.c, libzfs_util.c) and openssh-portable 0ef0f5a83 (sshconnect.c,
sshconnect2.c, ssh.c); see docs/migration-cli-facts.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from dom0 import errors
from dom0.migration_parsers import MigrationOutcome, parse_xl_migrate_progress

__all__ = [
    "IncrementalMismatch",
    "MigrationDiskMissing",
    "MigrationFailed",
    "MigrationHostKeyRejected",
    "MigrationReceiverMissing",
    "MigrationStateUnknown",
    "MigrationTargetOutOfMemory",
    "MigrationTargetUnreachable",
    "PartialReceiveExists",
    "ReceiveTargetExists",
    "ResumeTokenInvalid",
    "SendInterrupted",
    "StreamIncomplete",
    "classify_xl_migrate_error",
    "classify_zfs_send_recv_error",
]


class MigrationFailed(errors.CommandFailed):
    """`xl migrate` failed; `where` says which host holds the domain now."""

    code = "migration_failed"

    def __init__(self, message: str, *, where: str = "source", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.where = where


class MigrationTargetUnreachable(MigrationFailed):
    """ssh from the sender to the receiver failed (refused, no route, DNS, login)."""

    code = "migration_target_unreachable"


class MigrationHostKeyRejected(MigrationTargetUnreachable):
    """The receiver's host key is not the pinned one (StrictHostKeyChecking=yes)."""

    code = "migration_host_key"


class MigrationReceiverMissing(MigrationFailed):
    """The receiver's shell found no `xl` to run `xl migrate-receive` (exit 127)."""

    code = "migrate_receive_missing"


class MigrationTargetOutOfMemory(MigrationFailed, errors.OutOfMemory):
    """The receiver's hypervisor had too little free memory for the domain."""

    code = "migration_target_out_of_memory"


class MigrationDiskMissing(MigrationFailed):
    """A disk of the domain does not exist at the same path on the receiver."""

    code = "migration_disk_missing"

    def __init__(self, message: str, *, path: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.path = path


class MigrationStateUnknown(MigrationFailed):
    """The final handshake failed: the domain may be on either host, paused or renamed."""

    code = "migration_state_unknown"


class ReceiveTargetExists(errors.DatasetExists):
    """`zfs recv` of a full stream found the volume there already (and no `-F`)."""

    code = "receive_target_exists"


class IncrementalMismatch(errors.CommandFailed):
    """The receiver's latest snapshot is not the incremental's base, or it changed since."""

    code = "incremental_mismatch"


class PartialReceiveExists(errors.DatasetBusy):
    """The volume holds a partial `zfs recv -s`; resume it (`zfs send -t`) or abort it first."""

    code = "partial_receive"


class StreamIncomplete(errors.CommandFailed):
    """The stream ended early; `resume_token` is set when `recv -s` saved the partial state."""

    code = "stream_incomplete"

    def __init__(self, message: str, *, resume_token: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.resume_token = resume_token


class SendInterrupted(errors.CommandFailed):
    """`zfs send` could not write its stream: the reader went away (`Broken pipe`)."""

    code = "send_interrupted"


class ResumeTokenInvalid(errors.CommandFailed):
    """`zfs send -t` refused the token (corrupt, or the snapshot it names is gone)."""

    code = "resume_token_invalid"


# --- xl migrate --------------------------------------------------------------------------------

_BANNER_FAILED_RE = re.compile(
    r"reading banner from migration receiver stream|contained unexpected data instead of banner"
)
_HOST_KEY_RE = re.compile(
    r"Host key verification failed\.|Host key for \S+ has changed and you have requested strict "
    r"checking\.|No \S+ host key is known for \S+ and you have requested strict checking\.|"
    r"host key for \S+ was revoked"
)
_SSH_FAILED_RE = re.compile(
    r"^(?:ssh: connect to host .*|ssh: Could not resolve hostname .*|.*: Permission denied "
    r"\(.*\)\.|Connection closed by .*|Connection timed out.*)$",
    re.M,
)
# FreeBSD sh: "sh: xl: not found" (bin/sh/exec.c `shellexec`), csh: "xl: Command not found.",
# bash: "bash: xl: command not found"; the transport then exits 127 (libxl_exec.c).
_XL_MISSING_RE = re.compile(
    r"\bxl: (?:not found|[Cc]ommand not found)|exited with error status 127\b"
)
_NOMEM_RE = re.compile(
    r"Cannot allocate memory|failed to free memory|cannot \(re-\)build domain: -5\b|"
    r"Failed to populate"
)
_DISK_STAT_RE = re.compile(r"Disk vdev=(?P<vdev>\S+) failed to stat: (?P<path>\S+?)(?::|$)", re.M)
_SOURCE_SAFE = "The domain is still running on the source host."


def _last(lines: Sequence[str]) -> str:
    return lines[-1] if lines else ""


def _host(kw: dict[str, Any]) -> str:
    argv = kw.get("argv") or []
    return argv[-1] if len(argv) > 2 else "the receiver"


def classify_xl_migrate_error(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    """Return the typed error of a failed `xl migrate`, or None to use the general xl rules.

    The receiver's stderr arrives in the sender's (ssh passes it through), so a libxl error can
    come from either host; this looks at the migration's own lines to tell which.
    """
    progress = parse_xl_migrate_progress(stderr)
    host = _host(kw)
    if progress.outcome is MigrationOutcome.UNDEFINED:
        return MigrationStateUnknown(
            "The migration failed during the final handshake: the domain's state is undefined",
            where="unknown",
            hint=(
                f"Check both hosts with 'xl list' (it may be named <name>--migratedaway on the "
                f"source or <name>--incoming on {host}) and resume at most one copy."
            ),
            **kw,
        )
    if progress.outcome is MigrationOutcome.SUCCEEDED:
        return None
    if _BANNER_FAILED_RE.search(stderr):
        return _receiver_not_started(stderr, host, kw)
    if "No config file stored for running domain" in stderr:
        return MigrationFailed(
            "xl has no stored config for this domain, so it cannot migrate it",
            hint="Pass the domain's config file with -C. " + _SOURCE_SAFE,
            **kw,
        )
    if "Migration failed, failed to suspend at sender." in stderr:
        return MigrationFailed(
            "The domain did not suspend for the migration",
            hint=(
                "It needs working PV drivers (or a guest that answers the suspend request). "
                + _SOURCE_SAFE
            ),
            **kw,
        )
    if progress.outcome is MigrationOutcome.FAILED:
        return _failed_at_target(stderr, progress.resumed, progress.errors, host, kw)
    return None


def _receiver_not_started(stderr: str, host: str, kw: dict[str, Any]) -> errors.Dom0Error:
    if _HOST_KEY_RE.search(stderr):
        return MigrationHostKeyRejected(
            f"{host} did not show the pinned SSH host key, so the migration did not start",
            hint="Check the receiver's host key in the host settings. " + _SOURCE_SAFE,
            **kw,
        )
    if match := _SSH_FAILED_RE.search(stderr):
        return MigrationTargetUnreachable(
            f"The source host could not reach {host} over SSH: {match[0].strip()}",
            hint=(
                "Check that the hosts can reach each other, the port and the migration key "
                "(or use the relayed path). " + _SOURCE_SAFE
            ),
            **kw,
        )
    if _XL_MISSING_RE.search(stderr):
        return MigrationReceiverMissing(
            f"{host} has no 'xl' command, so 'xl migrate-receive' could not run there",
            hint="Install Xen's tools on the receiver (pkg install xen-tools). " + _SOURCE_SAFE,
            **kw,
        )
    if "cannot init xl context" in stderr:
        return MigrationFailed(
            f"Xen is not running on {host}, so it cannot receive the domain",
            hint="Boot the receiver into Xen and start xencommons. " + _SOURCE_SAFE,
            **kw,
        )
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return MigrationFailed(
        f"{host} did not start 'xl migrate-receive': {_last(lines) or 'no output'}",
        hint="See the command output in the job log. " + _SOURCE_SAFE,
        **kw,
    )


def _failed_at_target(
    stderr: str,
    resumed: bool | None,
    problems: Sequence[str],
    host: str,
    kw: dict[str, Any],
) -> errors.Dom0Error:
    safe = _SOURCE_SAFE
    if resumed is False:
        safe = (
            "The domain is back on the source host but did not report resuming; check that it "
            "runs (xl list) and unpause it if needed."
        )
    if _NOMEM_RE.search(stderr):
        return MigrationTargetOutOfMemory(
            f"{host} does not have enough free memory for the domain",
            hint="Free memory on the receiver or give the domain less. " + safe,
            **kw,
        )
    if match := _DISK_STAT_RE.search(stderr):
        return MigrationDiskMissing(
            f"The disk {match['vdev']} ({match['path']}) does not exist on {host}",
            path=match["path"],
            hint=(
                "A live migration does not copy disks: the same path must reach the same data "
                "on the receiver (shared storage), or use a storage migration. " + safe
            ),
            **kw,
        )
    detail = _last(list(problems)) or _last([ln for ln in stderr.splitlines() if ln.strip()])
    return MigrationFailed(
        f"The migration to {host} failed: {detail.strip() or 'no output'}",
        hint="See the command output in the job log. " + safe,
        **kw,
    )


# --- zfs send / recv ---------------------------------------------------------------------------

_RECV_HEAD = (
    r"cannot (?:receive(?: new filesystem| incremental| resume)?(?: stream)?|restore to \S+)"
)
_RECV_EXISTS_RE = re.compile(
    _RECV_HEAD + r": destination '(?P<ds>[^']+)' exists\s*\n?\s*must specify -F to overwrite it"
)
_RECV_HAS_SNAPS_RE = re.compile(_RECV_HEAD + r": destination has snapshots \(eg\. (?P<snap>\S+)\)")
_RECV_MISMATCH_RE = re.compile(
    r"most recent snapshot of (?P<ds>\S+) does not\s*\n?\s*match incremental source|"
    r"destination (?P<mod>\S+) has been modified\s*\n?\s*since most recent snapshot"
)
_RECV_PARTIAL_RE = re.compile(
    r"destination (?P<ds>\S+) contains partially-complete state from \"zfs receive -s\"\.|"
    r"Resuming recv on existing (?:destination '(?P<ds2>[^']+)'|dataset without force)"
)
_RECV_MISSING_RE = re.compile(_RECV_HEAD + r": destination '(?P<ds>[^']+)' does not exist")
_TOKEN_IN_TEXT_RE = re.compile(r"zfs send -t (?P<token>[0-9]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+)")
_INCOMPLETE_RE = re.compile(
    _RECV_HEAD + r": (?:checksum mismatch or incomplete stream|incomplete stream|"
    r"checksum mismatch|failed to read from stream)"
)
_NOSPACE_RE = re.compile(_RECV_HEAD + r": (?:out of space|destination \S+ space quota exceeded)")
_SEND_RE = re.compile(r"warning: cannot send '(?P<snap>[^']+)': (?P<why>.+)$", re.M)
_RESUME_SEND_RE = re.compile(r"^cannot resume send: (?P<why>.+)$", re.M)


def classify_zfs_send_recv_error(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    """Return the typed error of a failed `zfs send` or `zfs recv`, or None."""
    argv = kw.get("argv") or []
    sub = argv[1] if len(argv) > 1 else ""
    if sub in ("recv", "receive"):
        return _classify_recv(stderr, kw)
    if sub == "send":
        return _classify_send(stderr, kw)
    return None


def _classify_recv(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    if match := _RECV_EXISTS_RE.search(stderr):
        return ReceiveTargetExists(
            f"The volume '{match['ds']}' already exists on the receiver",
            hint=(
                "Nothing was received. Destroy it (it may be left from an earlier attempt) or "
                "choose another name; the panel overwrites with -F only when you confirm."
            ),
            **kw,
        )
    if match := _RECV_HAS_SNAPS_RE.search(stderr):
        return ReceiveTargetExists(
            f"The volume on the receiver has snapshots (e.g. {match['snap']}), so it cannot be "
            "overwritten",
            hint="Nothing was received. Destroy that volume and its snapshots first.",
            **kw,
        )
    if match := _RECV_PARTIAL_RE.search(stderr):
        ds = match["ds"] or match["ds2"] or (kw.get("argv") or ["?"])[-1]
        return PartialReceiveExists(
            f"'{ds}' holds a partly received stream from an interrupted transfer",
            hint=(
                "Resume it (zfs send -t with its receive_resume_token) or discard it "
                f"(zfs recv -A {ds}), then try again."
            ),
            **kw,
        )
    if match := _RECV_MISMATCH_RE.search(stderr):
        ds = match["ds"] or match["mod"]
        return IncrementalMismatch(
            f"The receiver's copy of '{ds}' does not match the increment's base snapshot",
            hint=(
                "It changed or has other snapshots since the last transfer. Receive with -F "
                "(rolls it back to its latest snapshot), or send a full stream again."
            ),
            **kw,
        )
    if match := _RECV_MISSING_RE.search(stderr):
        return errors.DatasetMissing(
            f"The volume '{match['ds']}' does not exist on the receiver, so an increment "
            "cannot be applied",
            hint="Send a full stream first.",
            **kw,
        )
    if _NOSPACE_RE.search(stderr):
        return errors.PoolFull(
            "The receiver's pool ran out of space during the transfer",
            hint="Free space on the receiver's pool or choose another pool, then try again.",
            **kw,
        )
    if _INCOMPLETE_RE.search(stderr):
        token = _TOKEN_IN_TEXT_RE.search(stderr)
        return StreamIncomplete(
            "The stream ended before the volume was fully received",
            resume_token=token["token"] if token else None,
            hint=(
                "The partial state was kept: resume with zfs send -t."
                if token
                else "Nothing was kept; check the connection and the sender's output, then "
                "send again."
            ),
            **kw,
        )
    return None


def _classify_send(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    if match := _RESUME_SEND_RE.search(stderr):
        return ResumeTokenInvalid(
            f"zfs could not resume the transfer: {match['why'].strip()}",
            hint=(
                "Discard the partial receive on the receiver (zfs recv -A) and send a full "
                "stream again."
            ),
            **kw,
        )
    match = _SEND_RE.search(stderr)
    if not match:
        return None
    snap, why = match["snap"], match["why"].strip()
    # EPIPE and friends: the reader closed the pipe; EINTR ("signal received"): zfs was stopped.
    if why in ("Broken pipe", "Connection reset by peer", "signal received"):
        return SendInterrupted(
            f"The transfer of '{snap}' stopped: the receiving side went away ({why})",
            hint="See the receiver's error in the job log; resume or send again.",
            **kw,
        )
    if "does not exist" in why or "could not be found" in why:
        return errors.DatasetMissing(
            f"zfs could not send '{snap}': {why}",
            hint="Refresh the snapshot list; the base snapshot may have been destroyed.",
            **kw,
        )
    if "not an earlier snapshot from the same fs" in why:
        return IncrementalMismatch(
            f"zfs could not send '{snap}': the base is not an earlier snapshot of it",
            hint="Choose an earlier snapshot of the same volume as the base.",
            **kw,
        )
    return None
