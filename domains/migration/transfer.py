"""How one volume's `zfs send` reaches `zfs recv` on the target (issue 14, item 2).

Two paths, chosen on the SOURCE host's settings (`Host.migration_transfer`):

- "relay" (default): the worker opens a streaming command on each Dom0 and copies the bytes
  from one to the other (`dom0.transports.relay`). The Dom0s never talk to each other.
- "direct": one pipeline on the source, `zfs send ... | ssh -i <migration key> ... <target>
  zfs recv ...` (`migration_commands.direct_send`), with the key and pinned host key the
  migration access job set up (hosts/migration_access.py). The bytes do not pass the worker.

Either way a cancel stops both ends (JobCancelled is raised; the caller undoes), and a broken
stream raises a Dom0Error the caller may resume from with the receiver's token.

`uncancellable(ctx)` is for what must run to its end whatever the user asks: an undo, and the
commit after the target started the domU (both migration kinds use it).
"""

from __future__ import annotations

import contextlib
import shlex
import threading
from collections.abc import Callable, Iterator

from django.db import connection

from dom0 import migration_access, migration_commands, migration_parsers
from dom0.errors import Dom0Error
from dom0.transports.relay import CANCELLED, RelayFailed, relay, stderr_tail
from domains.migration import access_checks
from domains.models import Domain
from hosts.choices import MigrationTransfer
from hosts.migration_access import peer_name
from hosts.models import Host
from jobs.context import JobCancelled, JobContext, StepFailed
from jobs.models import Job

STREAM_TIMEOUT = 24 * 3600
Report = Callable[[int], None]


class TransferFailed(Dom0Error):
    """The direct pipeline on the source exited non-zero (the stream may be resumable)."""

    code = "transfer_failed"


def is_direct(source: Host) -> bool:
    return source.migration_transfer == MigrationTransfer.DIRECT


def describe(source: Host, target: Host) -> str:
    """The job log's words for the path the disks take."""
    if is_direct(source):
        return (
            f"directly from {source.name} to {target.name} over SSH with the panel's migration "
            f"key ({migration_access.MIGRATE_KEY} on {source.name})"
        )
    return f"relayed through the worker (zfs send on {source.name}, zfs recv on {target.name})"


def require_access(domain: Domain, source: Host, target: Host, mode: str) -> None:
    """Refuse before anything moves when the target would not let the source's ssh in (the
    direct path, live migration), or would get a console exposed against its settings."""
    for problem in (
        access_checks.key_problem(source, target, mode),
        access_checks.vnc_problem(domain, target),
    ):
        if problem:
            raise StepFailed(f"{problem} Nothing moved; {domain.name} stays on {source.name}.")


def cancel_check(ctx: JobContext) -> Callable[[], bool]:
    """`cancelled()` for a watcher thread: asks the job row, then closes that thread's DB
    connection (Django opens one per thread; a relay's watcher would otherwise leak it)."""

    def cancelled() -> bool:
        try:
            ctx.check_cancelled()
        except JobCancelled:
            return True
        finally:
            connection.close()
        return False

    return cancelled


@contextlib.contextmanager
def uncancellable(ctx: JobContext) -> Iterator[None]:
    """Run the block to its end although the user asks to cancel: an undo, or the commit after
    the point of no return (ctx.run looks at the cancel flag before each command and would stop
    either half-way). Nests: an inner block leaves cancelling off for the outer one."""
    if "check_cancelled" in vars(ctx):  # already off: an outer block turns it back on
        yield
        return
    ctx.check_cancelled = lambda *, force=False: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        del ctx.check_cancelled


def cancel_asked(ctx: JobContext) -> bool:
    """Whether the user asked this job to stop (read from its row, whatever the context)."""
    return Job.objects.filter(pk=ctx.job.pk, cancel_requested=True).exists()


def past_no_return(ctx: JobContext, what: str) -> None:
    """Record that the job passed its point of no return: a cancel from now on is not obeyed."""
    ctx.result(point_of_no_return=True)
    ctx.note("Point of no return", f"{what}: from here the job finishes (a cancel is ignored).")


def note_ignored_cancel(ctx: JobContext, what: str) -> None:
    """Say in the job log that a cancel came too late to be obeyed (if one came)."""
    if cancel_asked(ctx):
        ctx.result(cancel_ignored=True)
        ctx.note("Cancel came after the switch: finishing", what)


def send_volume(
    ctx: JobContext,
    source: Host,
    target: Host,
    send_argv: list[str],
    recv_argv: list[str],
    report: Report,
) -> int:
    """Stream one `zfs send` into `zfs recv` on the target; return the bytes sent."""
    ctx.check_cancelled(force=True)
    if is_direct(source):
        return _direct(ctx, source, target, send_argv, recv_argv, report)
    return _relay(ctx, source, target, send_argv, recv_argv, report)


def _relay(
    ctx: JobContext, source: Host, target: Host, send: list[str], recv: list[str], report: Report
) -> int:
    lines: list[str] = []
    label = f"{source.name} → {target.name} (relayed): {shlex.join(send[-1:])} into {recv[-1]}"
    with ctx.step(label, send) as record:
        producer = ctx.transport_for(source).stream(send, timeout=STREAM_TIMEOUT)
        try:
            consumer = ctx.transport_for(target).stream(recv, timeout=STREAM_TIMEOUT)
        except Dom0Error:
            producer.cancel()
            raise
        head = f"relayed through the worker into `{shlex.join(recv)}` on {target.name}"
        try:
            result = relay(
                producer, consumer, on_progress=report, cancelled=cancel_check(ctx),
                on_stderr=lambda side, line: lines.append(f"{side}: {line.rstrip()}"),
            )  # fmt: skip
        except RelayFailed as exc:
            if exc.side == CANCELLED:
                lines.append(f"cancelled by the user: {exc}")
                raise JobCancelled from exc
            raise
        finally:
            record.output = ctx.redact("\n".join([head, *lines[-40:]]))
        record.output += f"\n{result.bytes} bytes in {result.seconds:.1f} s"
    return result.bytes


def _direct(
    ctx: JobContext, source: Host, target: Host, send: list[str], recv: list[str], report: Report
) -> int:
    words = migration_commands.direct_ssh_words(
        target.ssh_user,
        migration_access.MIGRATE_KEY,
        migration_access.MIGRATE_KNOWN_HOSTS,
        target.ssh_port,
        peer_name(target),
    )
    argv = migration_commands.direct_send(send, words, recv)
    label = f"{source.name} → {target.name} (direct SSH): {shlex.join(send[-1:])} into {recv[-1]}"
    lines: list[str] = []
    sent = 0
    with ctx.step(label, argv) as record:
        stream = ctx.transport_for(source).stream(argv, timeout=STREAM_TIMEOUT)
        with contextlib.suppress(OSError):
            stream.stdin.close()  # the pipeline reads nothing
        stop = threading.Event()
        was_cancelled = threading.Event()
        cancelled = cancel_check(ctx)

        def watch() -> None:
            while not stop.wait(0.25):
                if cancelled():
                    was_cancelled.set()
                    stream.cancel()
                    return

        def drain() -> None:
            while stream.stdout.read(65536):
                pass

        helpers = [threading.Thread(target=f, daemon=True) for f in (watch, drain)]
        for t in helpers:
            t.start()
        try:
            for line in stream.stderr_lines():
                lines.append(line.rstrip())
                value = migration_parsers.parse_zfs_send_progress(line)
                if value is not None:
                    sent = max(sent, value)
                    report(sent)
            result = stream.wait()
        finally:
            stop.set()
            record.output = ctx.redact("\n".join(lines[-40:]))
        record.rc = result.rc
        if was_cancelled.is_set():
            record.output += f"\ncancelled by the user after {sent} bytes; both ends stopped"
            raise JobCancelled
        if not result.ok:
            tail = stderr_tail(result.stderr or "\n".join(lines))
            raise TransferFailed(
                f"the direct send from {source.name} to {target.name} failed after {sent} bytes "
                f"(exit {result.rc}): {tail}",
                argv=argv, rc=result.rc, stderr=result.stderr,
            )  # fmt: skip
        record.output += f"\nsent directly ({sent} bytes by zfs send's last progress line)"
    return sent
