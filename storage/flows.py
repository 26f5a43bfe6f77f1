"""What the storage pages and the API both do after their input is valid: one copy of each rule.

A page turns `Refused` into an error message and goes back; the API answers 409 with the same
sentence. Nothing here knows about either (no request, no messages, no redirects). A form's own
refusals (a name just taken, the quota) stay on the form: the page shows it again, the API
answers 400 with its errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model

from accounts import quotas
from dom0.validate import redact_url
from jobs.models import Job
from storage import uploads
from storage.forms import FetchForm, UploadForm, VolumeForm
from storage.jobs import isos as iso_jobs
from storage.jobs import volumes as volume_jobs
from storage.models import IsoImage, UploadSession, Volume
from storage.panel import (
    ISO_KINDS,
    REMOVE_FORGET,
    attach_jobs,
    attach_uploads,
    iso_may_have_left,
    iso_removal,
    volume_on_host,
)
from storage.tasks import forget_image


class Refused(Exception):
    """The action was not taken; the message says why and what to do (page: an error message;
    API: 409)."""


@dataclass(frozen=True)
class TypeToConfirm:
    """A destructive action that needs the object's name typed, refused while a domU uses it.

    `model` is where the object is looked up (its owner's, or an operator's, for writing);
    `asks` and `action` make the prompt ("Type the file name (x.iso) to delete the image."),
    `done` the refusal ("x.iso cannot be deleted: <why>."); `name` is the attribute to type,
    `shown` the one the refusal names; `in_use` says why the object must stay (or None).
    """

    model: type[Model]
    asks: str
    action: str
    done: str
    in_use: Callable[[Any], str | None]
    name: str
    shown: str

    def unconfirmed(self, obj: Any, typed: str) -> str | None:
        """Say what to type when `typed` is not the object's name; None when it is."""
        name = getattr(obj, self.name)
        if typed.strip() != name:
            return f"Type {self.asks} ({name}) to {self.action}."
        return None

    def used(self, obj: Any) -> str | None:
        """Say why the object must stay (a domU uses it), or None."""
        reason = self.in_use(obj)
        return f"{getattr(obj, self.shown)} cannot be {self.done}: {reason}." if reason else None


# --- volumes ------------------------------------------------------------------------------------

DESTROY_CONFIRM = TypeToConfirm(
    Volume,
    "the volume name",
    "destroy it",
    "destroyed",
    volume_jobs.volume_in_use,
    "name",
    "dataset",
)


def create_volume(form: VolumeForm, user: Any) -> tuple[Volume, Job] | None:
    """Add the volume of a valid form and queue its `zfs create`.

    None when the quota refused it meanwhile (another create took the room): the reason is then
    on the form's size field.
    """
    try:
        with transaction.atomic():
            volume = Volume.objects.create(
                host=form.host,
                dataset=form.dataset,
                size_bytes=form.cleaned_data["size"],
                sparse=form.cleaned_data["sparse"],
                owner=user,
                team=form.cleaned_data.get("team"),
            )
            job = volume_jobs.queue_create(volume, user)
    except quotas.QuotaExceeded as exc:
        form.add_error("size", str(exc))
        return None
    return volume, job


def destroy_volume(volume: Volume, user: Any) -> Job:
    """Queue the `zfs destroy` of a confirmed volume (its name typed); Refused while a domU uses
    it, or when it was never made on its host."""
    problem = DESTROY_CONFIRM.used(volume)
    if problem:
        raise Refused(problem)
    attach_jobs([volume], None)
    if volume_on_host(volume) == volume_jobs.ON_HOST_NONE:
        raise Refused(
            f"{volume.dataset} was never made on {volume.host.name}: there is nothing to "
            "destroy. Remove it from the panel instead."
        )
    with transaction.atomic():
        return volume_jobs.queue_destroy(volume, user)


# --- ISO images ---------------------------------------------------------------------------------

DELETE_CONFIRM = TypeToConfirm(
    IsoImage,
    "the file name",
    "delete the image",
    "deleted",
    iso_jobs.iso_in_use,
    "file_name",
    "file_name",
)
ISO_BUSY = "A job is still running for this image; cancel it first."


def new_iso(form: FetchForm | UploadForm, user: Any, **values: Any) -> IsoImage:
    """The image row of a valid fetch or upload form (call inside a transaction)."""
    algo, digest = form.checksum_spec
    return IsoImage.objects.create(
        host=form.cleaned_data["host"],
        file_name=form.cleaned_data["file_name"],
        expected_algo=algo,
        expected_digest=digest,
        owner=user,
        team=form.cleaned_data.get("team"),
        **values,
    )


def start_fetch(form: FetchForm, user: Any) -> tuple[IsoImage, Job] | None:
    """Add the image of a valid fetch form and queue its fetch.

    None when refused meanwhile (the name was just taken, or the quota): the reason is then on
    the form.
    """
    url = form.cleaned_data["url"]
    try:
        with transaction.atomic():
            iso = new_iso(
                form,
                user,
                source=IsoImage.Source.URL,
                source_url=redact_url(url),
                state=IsoImage.State.PENDING,
            )
            job = iso_jobs.queue_fetch(iso, url, allow_private=form.private_allowed, user=user)
    except IntegrityError:
        form.add_error("file_name", "An image with this name was just added on that host.")
        return None
    except quotas.QuotaExceeded as exc:
        form.add_error(None, str(exc))
        return None
    return iso, job


def start_upload(form: UploadForm, user: Any, size: int) -> tuple[IsoImage, UploadSession]:
    """Reserve the image of a valid upload form and open its upload of `size` bytes.

    Raises IntegrityError when the name was just taken and uploads.UploadRefused when the size
    or the quota refuses it; each caller answers those in its own shape (page, JSON, tus).
    """
    with transaction.atomic():
        iso = new_iso(form, user, source=IsoImage.Source.UPLOAD, state=IsoImage.State.UPLOADING)
        session = uploads.create_session(iso, size, user)
    return iso, session


def delete_image(iso: IsoImage, user: Any) -> tuple[Job | None, bool]:
    """Delete a confirmed image (its name typed); Refused while a domU uses it or a job still
    works on it.

    Returns the job that removes the file from the host; or (None, left) when only the panel's
    row was dropped (nothing of the panel's is at that path: a file there is someone else's),
    `left` saying whether a job stopped half-way may have left a partial copy.
    """
    problem = DELETE_CONFIRM.used(iso)
    if problem:
        raise Refused(problem)
    attach_uploads([iso])
    attach_jobs([iso], ISO_KINDS)
    if iso.job is not None and iso.job.is_active:
        raise Refused(ISO_BUSY)
    if iso_removal(iso) == REMOVE_FORGET:
        left = iso_may_have_left(iso)
        forget_image(iso)
        return None, left
    with transaction.atomic():
        return iso_jobs.queue_delete(iso, user), False
