"""ISO library: list, detail, fetch from a URL, resumable browser upload, cancel, delete."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from accounts import access
from accounts.http import PanelRequest
from accounts.listing import team_choices
from hosts import access as host_access
from jobs.choices import JobStatus
from jobs.enqueue import request_cancel
from storage import flows, lists, uploads
from storage.forms import FetchForm, UploadForm
from storage.jobs import isos as jobs
from storage.models import IsoImage, UploadSession
from storage.panel import (
    ISO_KINDS,
    REMOVE_DELETE,
    REMOVE_FORGET,
    attach_jobs,
    attach_uploads,
    iso_may_have_left,
    iso_removal,
)
from storage.tasks import forget_image
from storage.usage import ISO_JOB_STATES
from storage.views.confirm import confirmed


def iso_list(request: PanelRequest) -> HttpResponse:
    """The ISO library a page at a time: search, host/state/owner/team filters, sort, in the URL."""
    hosts = list(host_access.hosts_for_user(request.user).only("code", "name", "iso_dir"))
    host = lists.chosen_host(request, hosts)
    listing = lists.iso_listing(request)
    isos = list(listing.paginate(lists.isos_for(request, listing, host)))
    active = attach_jobs(isos, ISO_KINDS)
    active = attach_uploads(isos) or active
    for iso in isos:
        iso.removal = iso_removal(iso)
    context = {
        "isos": isos,
        "listing": listing,
        "active": active,
        "hosts": hosts,
        "host": host,
        "states": lists.state_choices(IsoImage),
        "teams": team_choices(request.user),
        "can_operate": access.can_operate(request.user),
    }
    if request.htmx:
        response = render(request, "isos/_table.html", context)
        return response if active else HttpResponseStopPolling(response.content)
    return render(request, "isos/list.html", context)


def iso_detail(request: PanelRequest, code: str) -> HttpResponse:
    iso = access.get_owned_for_user(
        IsoImage.objects.select_related("host", "owner", "team"), request.user, code
    )
    active = attach_jobs([iso], ISO_KINDS)
    active = attach_uploads([iso]) or active
    removal = iso_removal(iso)
    context = {
        "iso": iso,
        "active": active,
        "in_use": jobs.iso_in_use(iso),
        "can_operate": access.can_operate(request.user),
        "removal": removal,
        "may_have_left": removal == REMOVE_FORGET and iso_may_have_left(iso),
    }
    if request.htmx:
        response = render(request, "isos/_detail_status.html", context)
        return response if active else HttpResponseStopPolling(response.content)
    return render(request, "isos/detail.html", context)


def _initial(request: HttpRequest) -> dict[str, Any]:
    """Preselect the host the user came from (?host=<code>)."""
    try:
        code = uuid.UUID(request.GET.get("host", ""))
    except ValueError:
        return {}
    host = host_access.hosts_for_user(request.user).filter(code=code).first()
    return {"host": host} if host else {}


def iso_fetch(request: HttpRequest) -> HttpResponse:
    access.require_operator(request.user)
    form = FetchForm(request.POST or None, user=request.user, initial=_initial(request))
    if request.method == "POST" and form.is_valid():
        started = flows.start_fetch(form, request.user)
        if started is not None:
            iso, job = started
            messages.info(request, f"Fetching {iso.file_name} on {iso.host.name} (job #{job.pk}).")
            return redirect(iso)
    return render(request, "isos/fetch.html", {"form": form})


# --- upload: the page, the plain form fallback, and the resumable protocol -----------------------
@csrf_exempt
def iso_upload(request: HttpRequest) -> HttpResponse:
    # Streamed uploads must swap the upload handlers before anything reads the body, which the
    # CSRF middleware would do; so CSRF is checked by the inner view instead (still enforced).
    if request.method != "POST":
        return _iso_upload(request)
    access.require_operator(request.user)  # before a byte of the body reaches the disk
    handler = uploads.StreamingIsoHandler(request)
    request.upload_handlers = [handler]
    try:
        response = _iso_upload(request)
    except BaseException:
        handler.upload_interrupted()
        raise
    if response.status_code == 403:  # refused (CSRF) after the body was streamed to disk
        handler.upload_interrupted()
    return response


@csrf_protect
def _iso_upload(request: HttpRequest) -> HttpResponse:
    access.require_operator(request.user)
    # A POST is always bound, even an empty one (a form without data cannot carry errors).
    data = request.POST if request.method == "POST" else None
    form = UploadForm(data, user=request.user, initial=_initial(request))
    if request.method == "POST":
        handler = request.upload_handlers[0]
        streamed = request.FILES.get("file")
        error = getattr(handler, "error", "")
        if error:
            form.add_error(None, error)
        elif not isinstance(streamed, uploads.StreamedIsoFile):
            form.add_error(None, "Choose an ISO file to upload.")
        if form.is_valid() and isinstance(streamed, uploads.StreamedIsoFile):
            return _finish_form_upload(request, form, streamed)
        handler.upload_interrupted()  # every file it wrote, not only the one in `file`
    return render(request, "isos/upload.html", _upload_context(form))


def _upload_context(form: UploadForm) -> dict[str, Any]:
    from django.conf import settings

    from dom0.units import binary_size

    hosts = form.fields["host"].queryset  # type: ignore[attr-defined]
    return {
        "form": form,
        # The tus metadata names the host by its code; the form's choices are primary keys.
        "host_codes": {str(pk): str(code) for pk, code in hosts.values_list("pk", "code")},
        "chunk_size": settings.UPLOAD_CHUNK_BYTES,
        "max_bytes": settings.ISO_UPLOAD_MAX_BYTES,
        "max_human": binary_size(settings.ISO_UPLOAD_MAX_BYTES),
    }


def _finish_form_upload(
    request: HttpRequest, form: UploadForm, streamed: uploads.StreamedIsoFile
) -> HttpResponse:
    try:
        iso, session = flows.start_upload(form, request.user, streamed.size)
    except (IntegrityError, uploads.UploadRefused) as exc:
        streamed.file.close()
        uploads.Path(streamed.path).unlink(missing_ok=True)
        form.add_error(None, str(exc) if isinstance(exc, uploads.UploadRefused) else "Name taken.")
        return render(request, "isos/upload.html", _upload_context(form))
    try:
        uploads.adopt_streamed_file(session, streamed)
    except uploads.UploadRefused as exc:
        messages.error(request, str(exc))
        return redirect("isos:upload")
    messages.info(request, f"Received {iso.file_name}; copying it to {iso.host.name}.")
    return redirect(iso)


def _json_errors(form: UploadForm) -> JsonResponse:
    errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
    return JsonResponse({"errors": errors}, status=400)


@require_POST
def upload_create(request: HttpRequest) -> HttpResponse:
    """Start a resumable upload: reserve the image name and answer where to send the bytes."""
    access.require_operator(request.user)
    form = UploadForm(request.POST, user=request.user)
    if not form.is_valid():
        return _json_errors(form)
    size = form.cleaned_data.get("size")
    if not size:
        return JsonResponse({"errors": {"size": ["The file size is required."]}}, status=400)
    try:
        _iso, session = flows.start_upload(form, request.user, size)
    except IntegrityError:
        return JsonResponse({"errors": {"file_name": ["This name was just taken."]}}, status=400)
    except uploads.UploadRefused as exc:
        return JsonResponse({"errors": {"__all__": [str(exc)]}}, status=exc.status)
    return JsonResponse(_session_state(session, 0), status=201)


def _session_state(session: UploadSession, offset: int) -> dict[str, Any]:
    iso_url = reverse("isos:detail", args=[session.iso.code]) if session.iso else None
    return {
        "code": str(session.code),
        "url": session.get_absolute_url(),
        "offset": offset,
        "size": session.size_bytes,
        "state": session.state,
        "error": session.error,
        "iso_url": iso_url,
    }


def _session_for(request: HttpRequest, code: str) -> UploadSession:
    return uploads.session_for_user(request.user, code)


@require_http_methods(["GET", "HEAD", "PUT", "DELETE"])
def upload_chunk(request: HttpRequest, code: str) -> HttpResponse:
    """GET/HEAD: how many bytes the server has. PUT: append bytes at Upload-Offset. DELETE: drop."""
    session = _session_for(request, code)
    if request.method in ("GET", "HEAD"):
        offset = uploads.current_offset(session)
        response = JsonResponse(_session_state(session, offset))
        response["Upload-Offset"] = str(offset)
        return response
    access.require_operator(request.user)
    if request.method == "DELETE":
        try:
            uploads.abort_session(session)
        except uploads.UploadRefused as exc:  # complete: the copy job needs the file
            session.refresh_from_db()
            body = _session_state(session, uploads.current_offset(session))
            body["error"] = str(exc)
            return JsonResponse(body, status=exc.status)
        return JsonResponse({"state": "aborted"})
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        return JsonResponse({"error": "Upload-Offset must be a number of bytes."}, status=400)
    # Django reads no body without a Content-Length (a chunked transfer encoding): such a PUT would
    # store nothing yet answer 200, and its size cannot be checked against the upload's up front.
    raw_length = (request.headers.get("Content-Length") or "").strip()
    if not (raw_length.isascii() and raw_length.isdigit()):
        body = _session_state(session, uploads.current_offset(session))
        body["error"] = "A chunk must state its length (Content-Length) in bytes."
        response = JsonResponse(body, status=411)
        response["Upload-Offset"] = str(body["offset"])
        return response
    length = int(raw_length)
    try:
        result = uploads.append_chunk(session, offset, uploads.request_body(request), length)
    except uploads.UploadRefused as exc:
        body = _session_state(session, uploads.current_offset(session))
        body["error"] = str(exc)
        response = JsonResponse(body, status=exc.status)
        response["Upload-Offset"] = str(body["offset"])
        return response
    if result.complete:  # another request may have finished it first
        session.refresh_from_db()
    response = JsonResponse(_session_state(session, result.offset))
    response["Upload-Offset"] = str(result.offset)
    return response


# --- actions -----------------------------------------------------------------------------------
@require_POST
def iso_cancel(request: HttpRequest, code: str) -> HttpResponse:
    iso = access.get_owned_for_user(IsoImage.objects.all(), request.user, code, write=True)
    attach_jobs([iso], ISO_KINDS)
    attach_uploads([iso])
    if iso.receiving is not None:
        try:
            uploads.abort_session(iso.receiving)
        except uploads.UploadRefused as exc:  # it completed meanwhile
            messages.warning(request, str(exc))
            return redirect(iso)
        messages.info(request, f"Upload of {iso.file_name} cancelled.")
        return redirect("isos:list")
    if iso.job is not None and iso.job.is_active and request_cancel(iso.job):
        iso.job.refresh_from_db()
        if iso.job.status == JobStatus.CANCELLED and iso.job.started_at is None:
            # Stopped before it ran: nothing reached the host, and no job will settle the image.
            IsoImage.objects.filter(pk=iso.pk, state__in=ISO_JOB_STATES).update(
                state=IsoImage.State.CANCELLED,
                error=f"Cancelled before it started; nothing reached {iso.host.name}.",
            )
            messages.info(request, f"Job #{iso.job.pk} cancelled before it started.")
        else:
            messages.info(request, f"Asked job #{iso.job.pk} to stop.")
    else:
        messages.warning(request, "Nothing is running for this image.")
    return redirect(iso)


@require_POST
def iso_delete(request: HttpRequest, code: str) -> HttpResponse:
    iso, back = confirmed(flows.DELETE_CONFIRM, request, code)
    if back is not None:
        return back
    try:
        job, left = flows.delete_image(iso, request.user)
    except flows.Refused as exc:
        messages.error(request, str(exc))
        return redirect(iso)
    if job is None:
        return _forgotten(request, iso, left)
    messages.info(request, f"Deleting {iso.path} (job #{job.pk}).")
    return redirect("isos:list")


@require_POST
def iso_remove(request: HttpRequest, code: str) -> HttpResponse:
    """Remove an image that did not become usable (failed, cancelled, bad), in one click."""
    iso = access.get_owned_for_user(
        IsoImage.objects.select_related("host"), request.user, code, write=True
    )
    attach_jobs([iso], ISO_KINDS)
    attach_uploads([iso])
    removal = iso_removal(iso)
    if removal is None:
        if iso.receiving is not None or (iso.job is not None and iso.job.is_active):
            messages.error(request, "This image is still on its way; cancel it first.")
        else:
            messages.error(
                request,
                "Only a failed, cancelled or bad image can be removed in one click; "
                "Delete removes a usable one.",
            )
        return redirect(iso)
    reason = jobs.iso_in_use(iso)
    if reason:
        messages.error(request, f"{iso.file_name} cannot be removed: {reason}.")
        return redirect(iso)
    if removal == REMOVE_DELETE:
        with transaction.atomic():
            job = jobs.queue_delete(iso, request.user)
        messages.info(request, f"Removing {iso.path} from {iso.host.name} (job #{job.pk}).")
        return redirect("isos:list")
    return _forget(request, iso)


def _forget(request: HttpRequest, iso: IsoImage) -> HttpResponse:
    """Drop the row (and the upload's bytes on this machine); nothing on the host is touched."""
    left = iso_may_have_left(iso)
    forget_image(iso)
    return _forgotten(request, iso, left)


def _forgotten(request: HttpRequest, iso: IsoImage, left: bool) -> HttpResponse:
    if left:
        messages.warning(
            request,
            f"Removed {iso.file_name} from the panel. Its job stopped half-way: a partial copy "
            f"may remain at {iso.path} on {iso.host.name}.",
        )
    else:
        messages.info(
            request,
            f"Removed {iso.file_name} from the panel; nothing of it was on {iso.host.name}.",
        )
    return redirect("isos:list")
