"""ISO image jobs: fetch from a URL on the host, copy a browser upload to it, verify, delete.

`fetch` prints no progress without a terminal, so the download runs in the background and the job
polls the growing file against `fetch -s`. Every image ends with `sha256 -q` on the host; an
expected checksum that does not match marks the image BAD.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from accounts import quotas
from dom0 import commands, parsers, validate
from dom0.errors import Dom0Error
from dom0.units import human_bytes
from hosts.choices import Transport
from jobs.context import JobCancelled, JobContext, StepFailed, tail
from jobs.enqueue import enqueue_on
from jobs.models import Job
from jobs.registry import job_kind
from jobs.rows import save_fields
from storage import users
from storage.models import IsoImage, UploadSession
from storage.relay import drop_upload_bytes, receive_upload, relay_staging
from storage.resolve import resolve_host
from storage.uploads import ISO_MAGIC, ISO_MAGIC_OFFSET

FETCH = "iso.fetch"
UPLOAD = "iso.upload"
DELETE = "iso.delete"
POLL_SECONDS = 0.5


class ChecksumMismatch(StepFailed):
    """The image on the host is not the one the user expected; it stays, marked BAD."""


def iso_in_use(iso: IsoImage) -> str | None:
    """Return why `iso` must not be deleted (a domU has it attached), or None."""
    return users.in_use("iso", iso)


# --- queueing ----------------------------------------------------------------------------------
def queue_fetch(iso: IsoImage, url: str, *, allow_private: bool, user: Any) -> Job:
    # The size is known only once the host asks the server; until then it needs room to start.
    quotas.check(iso.owner, exclude=iso, iso_bytes=iso.size_bytes or 1)
    title = f"Fetch {iso.file_name} to {iso.host.name}"
    params = {"url": url, "allow_private": allow_private}
    return enqueue_on(FETCH, "iso", iso, title=title, user=user, params=params)


def reachable_from_pool(host: Any) -> bool:
    """Say whether the central worker pool can reach `host` (over SSH, or the simulator).

    A *Local* host with its own queue is reached only by the worker on that Dom0.
    """
    return host.transport != Transport.LOCAL or not host.job_queue


def queue_upload(iso: IsoImage, upload: UploadSession, user: Any) -> Job:
    """Queue the copy of a received upload to its host.

    The bytes are in UPLOAD_DIR of the panel's machine, so the job runs in the central pool
    (the default queue) even for a host with its own queue, and reaches the host over its
    transport from there. A Local host with its own queue cannot be reached from there: its
    worker runs the job and the central pool streams the bytes to it (storage.relay).
    """
    relay = not reachable_from_pool(iso.host)
    title = f"Copy uploaded {iso.file_name} to {iso.host.name}"
    params = {"upload_id": upload.pk, "relay": relay}
    queue = None if relay else settings.CELERY_TASK_DEFAULT_QUEUE
    return enqueue_on(UPLOAD, "iso", iso, title=title, user=user, params=params, queue=queue)


def queue_delete(iso: IsoImage, user: Any) -> Job:
    title = f"Delete {iso.file_name} from {iso.host.name}"
    return enqueue_on(DELETE, "iso", iso, title=title, user=user)


# --- helpers -----------------------------------------------------------------------------------
def _iso(ctx: JobContext) -> IsoImage | None:
    return IsoImage.objects.select_related("host").filter(pk=ctx.job.params["iso_id"]).first()


def _share(done: int, total: int | None, start: int = 5, span: int = 85) -> float:
    if not total:
        return start
    return start + span * min(done, total) / total


def _sofar(done: int, total: int | None) -> str:
    if total:
        return f"{human_bytes(done)} of {human_bytes(total)}"
    return f"{human_bytes(done)} (size unknown)"


class _Written:
    """Whether the job has started putting the image's file on the host (it is then its own)."""

    def __init__(self) -> None:
        self.ours = False


def _run_guarded(ctx: JobContext, iso: IsoImage, body: Any) -> str:
    """Run `body(written)`, leaving the image FAILED / CANCELLED / BAD with the reason when it
    stops, and nothing of its own on the host (a BAD image stays there, marked, to be looked at).
    """
    written = _Written()
    try:
        return str(body(written))
    except JobCancelled:
        left = _clean_up(ctx, iso, written)
        save_fields(iso, state=IsoImage.State.CANCELLED, error=f"Cancelled. {left}")
        raise
    except ChecksumMismatch as exc:
        save_fields(iso, state=IsoImage.State.BAD, error=str(exc))
        raise
    except Exception as exc:
        left = _clean_up(ctx, iso, written)
        save_fields(iso, state=IsoImage.State.FAILED, error=f"{str(exc)[:2000]}\n{left}")
        raise


def _clean_up(ctx: JobContext, iso: IsoImage, written: _Written) -> str:
    """Remove what this job put at the image's path; return what is left on the host."""
    host = iso.host.name
    if not written.ours:
        return f"Nothing was changed on {host}."
    try:
        _remove(ctx, iso.path, "left by this job, which did not finish")
    except Exception as exc:  # the host may be what failed; the Remove tries again later
        ctx.result(iso_left_on_host=iso.path)
        return (
            f"A partial copy may remain at {iso.path} on {host} (removing it failed: {exc}); "
            "Remove deletes it once the host answers."
        )
    return f"The partial file was removed; nothing of it is left on {host}."


def _remove(ctx: JobContext, path: str, why: str) -> None:
    with ctx.step(f"Remove {path}") as record:
        ctx.transport.remove(path)
        record.output = why


def _verify(ctx: JobContext, iso: IsoImage, *, known_sha256: str = "") -> str:
    """Hash the image on the host, compare with what we expect, and mark it READY."""
    policy = iso.host.path_policy()
    save_fields(iso, state=IsoImage.State.VERIFYING)
    ctx.progress(92, "Computing SHA-256 on the host")
    result = ctx.run(
        commands.sha_digest(iso.path, "sha256", policy=policy),
        label="SHA-256 of the image",
        timeout=settings.JOB_TIME_LIMIT,
    )
    digest = result.stdout.strip().lower()
    st = ctx.transport.stat(iso.path)
    save_fields(iso, sha256=digest, size_bytes=st.size if st else iso.size_bytes)
    if known_sha256 and digest != known_sha256:
        raise StepFailed(
            f"The copy on the host differs from the upload (SHA-256 {digest} instead of "
            f"{known_sha256}); upload it again."
        )
    if iso.expected_digest:
        actual = digest
        if iso.expected_algo == "sha512":
            ctx.progress(96, "Computing SHA-512 on the host")
            out = ctx.run(
                commands.sha_digest(iso.path, "sha512", policy=policy),
                label="SHA-512 of the image",
                timeout=settings.JOB_TIME_LIMIT,
            )
            actual = out.stdout.strip().lower()
        if actual != iso.expected_digest.lower():
            raise ChecksumMismatch(
                f"Checksum mismatch: expected {iso.expected_algo.upper()} {iso.expected_digest}, "
                f"the file on the host has {actual}. The image is marked bad; do not boot it."
            )
        ctx.note("Checksum verified", f"{iso.expected_algo.upper()} matches {iso.expected_digest}")
    save_fields(iso, state=IsoImage.State.READY, error="")
    ctx.result(sha256=digest, path=iso.path)
    return digest


# --- fetch -------------------------------------------------------------------------------------
@job_kind(FETCH)
def fetch_iso(ctx: JobContext) -> str:
    """Download a URL on the host with fetch(1), with progress, cancel and a checksum check."""
    iso = _iso(ctx)
    if iso is None:
        return "The image was removed from the panel before the job ran"
    url: str = ctx.job.params["url"]
    query = urlsplit(url).query
    if query:
        ctx.secret(query)  # signed download links carry their token in the query string
    return _run_guarded(ctx, iso, lambda written: _fetch(ctx, iso, url, written))


def _fetch(ctx: JobContext, iso: IsoImage, url: str, written: _Written) -> str:
    host, allow = iso.host, bool(ctx.job.params.get("allow_private"))
    timeout = int(settings.FETCH_TIMEOUT)
    policy = host.path_policy()
    ctx.progress(2, "Asking the server for the size")
    with ctx.step(f"Create {host.iso_dir}") as record:
        ctx.transport.makedirs(host.iso_dir)
        record.output = "ready"
    if not allow:
        # Checked again here, not only on the form: a name can point elsewhere by now.
        with ctx.step("Check where the URL points") as record:
            name = urlsplit(url).hostname or ""
            addresses = validate.resolve_and_check(name, resolve_host, "url")
            record.output = f"{name} -> {', '.join(addresses)}: public"
    sized = ctx.run(
        commands.fetch_size(url, timeout, allow_private=allow),
        label="Size of the download",
        timeout=timeout + 30,
    )
    total = parsers.parse_fetch_size(sized.stdout)
    quotas.check(iso.owner, exclude=iso, iso_bytes=total or 0)  # now that the size is known
    save_fields(iso, size_bytes=total, state=IsoImage.State.FETCHING, error="")
    if ctx.transport.stat(iso.path) is not None:
        if not ctx.redelivered:
            raise StepFailed(
                f"{iso.path} already exists on {host.name} and the panel did not put it there; "
                "choose another file name (nothing was changed)."
            )
        _remove(ctx, iso.path, "left over from an earlier attempt of this job")
    written.ours = True
    argv = commands.fetch_to(url, iso.path, timeout, allow_private=allow, policy=policy)
    # A server that does not say the size could send more than the quota leaves: watch it.
    room = quotas.allowance(iso.owner, "iso_bytes", exclude=iso) if total is None else None
    ctx.progress(5, f"Downloading: {_sofar(0, total)}", force=True)
    with ctx.step("Download", argv) as record:
        running = ctx.transport.start(argv, timeout=settings.JOB_TIME_LIMIT)
        while (result := running.poll()) is None:
            try:
                ctx.check_cancelled()
            except JobCancelled:
                running.cancel()
                ctx.transport.remove(iso.path)
                record.output = "Cancelled by the user; the partial file was removed."
                raise
            st = ctx.transport.stat(iso.path)
            done = st.size if st else 0
            if room is not None and done > room:
                running.cancel()
                ctx.transport.remove(iso.path)
                record.output = f"Stopped at {human_bytes(done)}: past the ISO quota."
                quotas.check(iso.owner, exclude=iso, iso_bytes=done)  # raises, naming the quota
            ctx.progress(_share(done, total), f"Downloading: {_sofar(done, total)}")
            time.sleep(POLL_SECONDS)
        record.rc = result.rc
        record.output = ctx.redact(tail(result.stderr or result.stdout or ""))
        if result.rc != 0:
            raise parsers.classify_error(argv, result.rc, result.stdout, result.stderr)
    if room is not None:
        st = ctx.transport.stat(iso.path)
        if st is not None and st.size > room:  # finished between two looks
            _remove(ctx, iso.path, "past the ISO quota")
            quotas.check(iso.owner, exclude=iso, iso_bytes=st.size)
    ctx.progress(90, f"Downloaded {_sofar(total or 0, total)}", force=True)
    _check_iso_signature(ctx, iso)
    digest = _verify(ctx, iso)
    return f"Fetched {iso.file_name} ({iso.size_human}), SHA-256 {digest[:16]}…"


def _check_iso_signature(ctx: JobContext, iso: IsoImage) -> None:
    """Refuse a download that is not an ISO 9660 image (and remove it from the host).

    Whatever a URL answered should not become a "cdrom" a guest can read back.
    """
    with ctx.step("Check the ISO 9660 signature") as record:
        magic = ctx.transport.read_range(iso.path, ISO_MAGIC_OFFSET, len(ISO_MAGIC))
        if magic != ISO_MAGIC:
            ctx.transport.remove(iso.path)
            record.output = f"no CD001 at byte {ISO_MAGIC_OFFSET}; the file was removed"
            raise StepFailed(
                f"The download is not an ISO 9660 image (no CD001 signature at byte "
                f"{ISO_MAGIC_OFFSET}); it was removed from the host."
            )
        record.output = f"CD001 at byte {ISO_MAGIC_OFFSET}"


# --- upload ------------------------------------------------------------------------------------
@job_kind(UPLOAD)
def upload_iso(ctx: JobContext) -> str:
    """Copy a received upload to the host's ISO directory (SFTP for SSH hosts), then verify."""
    iso = _iso(ctx)
    upload = UploadSession.objects.filter(pk=ctx.job.params["upload_id"]).first()
    if iso is None or upload is None:
        return "The image was removed from the panel before the job ran"
    relay = bool(ctx.job.params.get("relay"))
    try:
        return _run_guarded(ctx, iso, lambda written: _upload(ctx, iso, upload, written, relay))
    finally:
        if relay:
            relay_staging(upload).unlink(missing_ok=True)


def _upload(
    ctx: JobContext, iso: IsoImage, upload: UploadSession, written: _Written, relay: bool
) -> str:
    host = iso.host
    save_fields(iso, state=IsoImage.State.TRANSFERRING, error="")
    on_host = ctx.transport.stat(iso.path)
    if ctx.redelivered and on_host is not None and on_host.size == upload.size_bytes:
        written.ours = True
        ctx.note("Already copied", "An earlier attempt copied the file; checking its SHA-256.")
    elif on_host is not None and not ctx.redelivered:
        raise StepFailed(
            f"{iso.path} already exists on {host.name} and the panel did not put it there; "
            "upload it under another name (nothing was changed)."
        )
    else:
        if relay:
            # This worker runs on the Dom0; the bytes are on the panel's machine.
            local = receive_upload(ctx, upload, span=(5, 45))
        else:
            local = upload.local_path
            if not local.exists():
                raise StepFailed("The uploaded file is no longer on the panel; upload it again.")
        with ctx.step(f"Create {host.iso_dir}") as record:
            ctx.transport.makedirs(host.iso_dir)
            record.output = "ready"
        total = upload.size_bytes

        start, span = (45, 45) if relay else (5, 85)

        def progress(done: int, size: int) -> None:
            # Both are coalesced by the context (a look at the DB at most a few times a second).
            ctx.check_cancelled()  # raising here aborts the copy; the temp file is removed
            ctx.progress(
                _share(done, size or total, start, span),
                f"Copying to the host: {_sofar(done, total)}",
            )

        how = "SFTP" if host.transport == "ssh" else "file copy"
        with ctx.step(f"Copy to {iso.path} ({how})") as record:
            ctx.transport.put_file(str(local), iso.path, progress)
            written.ours = True  # put_file writes a temporary file and renames it when complete
            record.output = f"{human_bytes(total)} copied"
        ctx.progress(90, f"Copied {human_bytes(total)}", force=True)
    digest = _verify(ctx, iso, known_sha256=upload.sha256)
    if relay:
        drop_upload_bytes(upload)  # on the panel's machine, where they are
    else:
        upload.local_path.unlink(missing_ok=True)
    return f"Copied {iso.file_name} ({iso.size_human}) to {host.name}, SHA-256 {digest[:16]}…"


# --- delete ------------------------------------------------------------------------------------
@job_kind(DELETE)
def delete_iso(ctx: JobContext) -> str:
    """Remove the image file from the host and forget it (refused while a domU has it)."""
    iso = _iso(ctx)
    if iso is None:
        return "The image was already removed from the panel"
    reason = iso_in_use(iso)
    if reason:
        raise StepFailed(f"Not deleting {iso.file_name}: {reason}. Eject it first.")
    try:
        if ctx.transport.stat(iso.path) is None:
            ctx.note(f"Remove {iso.path}", "not on the host; nothing to remove")
        else:
            _remove(ctx, iso.path, "removed")
    except Dom0Error as exc:
        raise StepFailed(f"Could not remove {iso.path}: {exc}") from exc
    upload = UploadSession.objects.filter(iso=iso).first()
    if upload is not None:
        upload.local_path.unlink(missing_ok=True)
    iso.delete()
    return f"Deleted {iso.path}"
