"""ISO uploads over tus 1.0 (core, creation, checksum with sha256, termination).

`POST /api/v1/uploads/` creates an upload from `Upload-Length` and `Upload-Metadata`
(`filename`, `host` = the host's code, optional `sha256` of the whole file and `team`), through
the same form as the upload page; `HEAD` / `PATCH` / `DELETE /api/v1/uploads/<code>/` ask the
offset, append bytes, and terminate. The rules are storage.uploads' (size limit, quota, the ISO
signature, the whole-file SHA-256 computed while the bytes arrive, the copy job at the end); only
the protocol is tus. The browser (static/js/upload.js, tus-js-client) signs in with its session
and sends `X-CSRFToken`; scripts use a token (tuspy, xenpanel-cli).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from hosts import access as host_access
from jobs.api_support import errors
from storage import flows, tus, uploads
from storage.forms import UploadForm
from storage.models import IsoImage, UploadSession

_VERSION_HEADER = OpenApiParameter(
    "Tus-Resumable",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="The tus version: 1.0.0 (any other, or none, is answered 412).",
)
#: The ISO image's page, on the answers of creation, HEAD and PATCH (for the upload page).
ISO_PAGE_HEADER = "Xenpanel-Iso"
_CREATED = inline_serializer(
    "UploadCreated",
    {
        "code": serializers.UUIDField(help_text="The upload's code; its URL is in `Location`."),
        "upload": serializers.CharField(help_text="The upload's URL (HEAD/PATCH/DELETE)."),
        "iso": serializers.UUIDField(help_text="The code of the ISO image being uploaded."),
        "iso_url": serializers.CharField(help_text="The image's API URL (state, SHA-256)."),
    },
)


class _TusView(APIView):
    """Adds the tus headers to every answer, and answers protocol errors in the API's shape."""

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = tus.VERSION
        response["Cache-Control"] = "no-store"
        if response.status_code == 412:
            response["Tus-Version"] = tus.VERSION
        return response

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, tus.TusError | uploads.UploadRefused):
            response: Any = Response(
                {"detail": str(exc), "code": _code(exc.status)}, status=exc.status
            )
            offset = getattr(exc, "offset", None)
            if offset is not None:
                response["Upload-Offset"] = str(offset)
        else:
            response = super().handle_exception(exc)
        if self.request.method == "HEAD":  # a HEAD answer has no body; keep status and headers
            bare = HttpResponse(status=response.status_code)
            for name in ("WWW-Authenticate", "Upload-Offset"):
                if name in response:
                    bare[name] = response[name]
            return bare
        return response


def _code(status: int) -> str:
    names = {
        400: "invalid",
        403: "refused",
        409: "conflict",
        410: "gone",
        411: "length_required",
        412: "unsupported_version",
        413: "too_large",
        415: "unsupported_media",
        460: "checksum_mismatch",
    }
    return names.get(status, "error")


def _options_headers(response: HttpResponse) -> HttpResponse:
    response["Tus-Version"] = tus.VERSION
    response["Tus-Extension"] = tus.EXTENSIONS
    response["Tus-Checksum-Algorithm"] = tus.CHECKSUM_ALGORITHMS
    response["Tus-Max-Size"] = str(settings.ISO_UPLOAD_MAX_BYTES)
    return response


class UploadsView(_TusView):
    @extend_schema(
        tags=["isos"],
        summary="tus discovery: version, extensions, checksum algorithm, size limit",
        responses={204: None, **errors(401)},
    )
    def options(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        return _options_headers(HttpResponse(status=204))

    @extend_schema(
        tags=["isos"],
        summary="tus creation: start an ISO upload",
        description=(
            "Headers: `Upload-Length` (bytes) and `Upload-Metadata` with `filename` (the image's "
            "name on the host), `host` (the host's code), optionally `sha256` (the whole file's "
            "digest, verified on the host) and `team` (a team id). The image name is reserved "
            "and its size counts against the quota from now on. Send the bytes with PATCH to "
            "the URL in `Location`."
        ),
        parameters=[
            _VERSION_HEADER,
            OpenApiParameter("Upload-Length", OpenApiTypes.INT, OpenApiParameter.HEADER),
            OpenApiParameter("Upload-Metadata", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
        request=None,
        responses={201: _CREATED, **errors(400, 401, 403, 412, 413)},
    )
    def post(self, request: Request) -> Response:
        access.require_operator(request.user)
        tus.check_version(request.headers.get("Tus-Resumable"))
        if "Upload-Defer-Length" in request.headers:
            raise tus.TusError("Upload-Defer-Length is not supported: send Upload-Length.")
        size = tus.parse_length(request.headers.get("Upload-Length"), "Upload-Length")
        if size > settings.ISO_UPLOAD_MAX_BYTES:
            raise tus.TusError(uploads.too_big_message(), 413)
        meta = tus.parse_metadata(request.headers.get("Upload-Metadata"))
        form = UploadForm(_form_data(request, meta, size), user=request.user)
        if not form.is_valid():
            raise ValidationError(_messages(form))
        try:
            iso, session = flows.start_upload(form, request.user, size)
        except IntegrityError:
            raise ValidationError({"file_name": ["This name was just taken."]}) from None
        location = request.build_absolute_uri(reverse("api:upload", args=[session.code]))
        body = {
            "code": str(session.code),
            "upload": location,
            "iso": str(iso.code),
            "iso_url": reverse("api:iso", args=[iso.code]) if _has_route("api:iso") else "",
        }
        response = Response(body, status=201, headers={"Location": location, "Upload-Offset": "0"})
        return _with_page(response, iso)


def _with_page(response: Any, iso: IsoImage | None) -> Any:
    """Name the image's page (the upload page goes there when the upload completes)."""
    if iso is not None:
        response[ISO_PAGE_HEADER] = iso.get_absolute_url()
    return response


def _form_data(request: Request, meta: dict[str, str], size: int) -> dict[str, Any]:
    """The upload page's form fields from the tus metadata (the host by its code)."""
    code = _uuid(meta.get("host"))
    hosts = host_access.hosts_for_user(request.user)
    host = hosts.filter(code=code).first() if code is not None else None
    return {
        "host": host.pk if host else meta.get("host", ""),
        "file_name": meta.get("filename", ""),
        # `sha256`: the whole file's digest; `checksum`: the page's field (a digest or a line
        # of CHECKSUM.SHA256 / SHA256SUMS). Either is verified on the host after the copy.
        "checksum": meta.get("sha256") or meta.get("checksum", ""),
        "team": meta.get("team", ""),
        "size": size,
    }


def _messages(form: UploadForm) -> dict[str, list[str]]:
    names = {"file_name": "filename", "checksum": "sha256"}
    return {names.get(f, f): [str(e) for e in errs] for f, errs in form.errors.items()}


def _uuid(value: str | None) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(value or ""))
    except ValueError:
        return None


def _has_route(name: str) -> bool:
    from django.urls import NoReverseMatch

    try:
        reverse(name, args=["00000000-0000-0000-0000-000000000000"])
    except NoReverseMatch:
        return False
    return True


class UploadView(_TusView):
    @extend_schema(
        tags=["isos"],
        summary="tus core: how many bytes the server has",
        parameters=[_VERSION_HEADER],
        responses={200: None, **errors(401, 404, 410, 412)},
    )
    def head(self, request: Request, code: str) -> HttpResponse:
        session = uploads.session_for_user(request.user, code)
        tus.check_version(request.headers.get("Tus-Resumable"))
        if session.state in (UploadSession.State.FAILED, UploadSession.State.ABORTED):
            raise tus.TusError(session.error or uploads.DISCARDED, 410)
        complete = session.state == UploadSession.State.COMPLETE
        offset = session.size_bytes if complete else uploads.current_offset(session)
        response = HttpResponse(status=200)
        response["Upload-Offset"] = str(offset)
        response["Upload-Length"] = str(session.size_bytes)
        return _with_page(response, session.iso)

    @extend_schema(
        tags=["isos"],
        summary="tus core: append bytes at Upload-Offset",
        description=(
            "The body (`application/offset+octet-stream`, with a Content-Length) is written at "
            "`Upload-Offset`, which must be the server's offset (409 otherwise). With "
            "`Upload-Checksum: sha256 <base64>` the chunk is kept only if it matches (460 "
            "otherwise, and it is discarded). The request that completes the file answers "
            "after the ISO signature check and the whole file's SHA-256; the copy to the host "
            "is then queued. `HEAD` on the same URL answers `Upload-Offset` and `Upload-Length` "
            "(410 once refused or terminated); `OPTIONS /api/v1/uploads/` answers `Tus-Version`, "
            "`Tus-Extension`, `Tus-Checksum-Algorithm` and `Tus-Max-Size` (neither method is "
            "listed separately in this schema)."
        ),
        parameters=[
            _VERSION_HEADER,
            OpenApiParameter("Upload-Offset", OpenApiTypes.INT, OpenApiParameter.HEADER),
            OpenApiParameter("Upload-Checksum", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
        request={tus.OFFSET_CONTENT_TYPE: OpenApiTypes.BINARY},
        responses={204: None, **errors(400, 401, 403, 404, 409, 410, 411, 412, 413, 415, 460)},
    )
    def patch(self, request: Request, code: str) -> HttpResponse:
        session = uploads.session_for_user(request.user, code)
        access.require_operator(request.user)
        tus.check_version(request.headers.get("Tus-Resumable"))
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type != tus.OFFSET_CONTENT_TYPE:
            raise tus.TusError(f"A PATCH body must be {tus.OFFSET_CONTENT_TYPE}.", 415)
        offset = tus.parse_length(request.headers.get("Upload-Offset"), "Upload-Offset")
        checksum = tus.parse_checksum(request.headers.get("Upload-Checksum"))
        # Without a Content-Length (a chunked body) Django reads nothing, and the size cannot
        # be checked against the upload's up front (the same rule as the page's protocol).
        raw_length = (request.headers.get("Content-Length") or "").strip()
        if not (raw_length.isascii() and raw_length.isdigit()):
            raise tus.TusError("A chunk must state its length (Content-Length) in bytes.", 411)
        result = uploads.append_chunk(
            session,
            offset,
            uploads.request_body(request._request),
            int(raw_length),
            checksum,
        )
        response = HttpResponse(status=204)
        response["Upload-Offset"] = str(result.offset)
        return _with_page(response, session.iso)

    @extend_schema(
        tags=["isos"],
        summary="tus termination: discard an upload",
        description="Discards the bytes and the image. Once complete, the file belongs to the "
        "copy job (409: cancel the job on the image instead).",
        parameters=[_VERSION_HEADER],
        responses={204: None, **errors(401, 403, 404, 409, 412)},
    )
    def delete(self, request: Request, code: str) -> HttpResponse:
        session = uploads.session_for_user(request.user, code)
        access.require_operator(request.user)
        tus.check_version(request.headers.get("Tus-Resumable"))
        uploads.abort_session(session)
        return HttpResponse(status=204)
