"""`isos` and `iso`: list, fetch from a URL (202), detail, delete — the ISO pages' rules.

Uploading an image is the tus endpoint (`storage.api_uploads`), not this module.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, filters, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import access
from dom0.units import binary_size
from dom0.validate import redact_url
from jobs.api_support import JobSerializer, accepted
from storage.api.common import (
    Conflict,
    HostRef,
    Search,
    UserRefs,
    body,
    by_code_and_name,
    errors,
    refuse,
)
from storage.api.volumes import confirmation
from storage.flows import DELETE_CONFIRM, Refused, delete_image, start_fetch
from storage.forms import FetchForm
from storage.jobs import isos as jobs
from storage.models import IsoImage


class IsoSerializer(UserRefs, serializers.ModelSerializer):
    """An installer image in a host's ISO directory."""

    host = HostRef(read_only=True, help_text="The host the image is on.")
    size = serializers.SerializerMethodField(
        help_text='Size in binary units, as the pages show it ("1.2 GiB"); null until known.'
    )
    url = serializers.SerializerMethodField(
        help_text="Where it was fetched from, user name, password and query masked (***); "
        '"" unless fetched.'
    )
    api_url = serializers.SerializerMethodField(help_text="This image in the API.")
    page = serializers.SerializerMethodField(help_text="This image's page in the panel.")

    class Meta:
        model = IsoImage
        fields = [
            "code", "host", "file_name", "size_bytes", "size", "sha256", "state", "error",
            "source", "url", "owner", "team", "created_at", "api_url", "page",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "code": {"help_text": "The image's code (its id in the API and the pages)."},
            "file_name": {"help_text": "File name in the host's ISO directory."},
            "size_bytes": {"help_text": "Size in bytes (null: not known yet)."},
            "sha256": {"help_text": 'SHA-256 of the file on the host ("" until computed).'},
            "state": {
                "help_text": "pending, fetching, uploading, transferring, verifying, ready, bad "
                "(checksum mismatch), failed or cancelled."
            },
            "error": {"help_text": 'What went wrong ("" if nothing).'},
            "source": {"help_text": "url (fetched), upload, or found (on the host)."},
            "created_at": {"help_text": "When it was added to the panel."},
        }

    def get_size(self, iso: IsoImage) -> str | None:
        return binary_size(iso.size_bytes) if iso.size_bytes is not None else None

    def get_url(self, iso: IsoImage) -> str:
        return redact_url(iso.source_url) if iso.source_url else ""

    def get_api_url(self, iso: IsoImage) -> str:
        return reverse("api:iso", args=[iso.code])

    def get_page(self, iso: IsoImage) -> str:
        return iso.get_absolute_url()


class IsoDetailSerializer(IsoSerializer):
    in_use = serializers.SerializerMethodField(
        help_text="Why it may not be deleted (a domU has it in its CD-ROM drive), or null."
    )

    class Meta(IsoSerializer.Meta):
        fields = [*IsoSerializer.Meta.fields, "in_use"]
        read_only_fields = fields

    def get_in_use(self, iso: IsoImage) -> str | None:
        return jobs.iso_in_use(iso)


class IsoFetch(serializers.Serializer):
    """What `POST /isos/` reads (validated by the page's form, storage.forms.FetchForm)."""

    host = serializers.UUIDField(help_text="Code of the host that downloads it.")
    url = serializers.CharField(
        help_text="http, https or ftp; no user name or password; public addresses only unless "
        "allowed."
    )
    file_name = serializers.CharField(
        required=False, help_text="Name on the host; empty: the name in the URL."
    )
    checksum = serializers.CharField(
        required=False,
        help_text="A SHA-256 or SHA-512 digest, or the image's line from CHECKSUM.SHA256 / "
        "SHA256SUMS; verified on the host (a mismatch marks the image bad).",
    )
    allow_private = serializers.BooleanField(
        required=False, help_text="Admins only: allow a private or loopback address (a mirror)."
    )
    team = serializers.CharField(
        required=False, help_text="One of your teams: its members may see and use it too."
    )


class IsoAccepted(JobSerializer):
    iso = IsoSerializer(help_text="The image being fetched.")

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "iso"]


class IsoFilter(django_filters.FilterSet):
    host = django_filters.UUIDFilter(field_name="host__code", help_text="Host code.")
    state = django_filters.ChoiceFilter(choices=IsoImage.State.choices, help_text="State.")
    source = django_filters.ChoiceFilter(choices=IsoImage.Source.choices, help_text="Source.")
    owner = django_filters.CharFilter(field_name="owner__username", help_text="Owner user name.")
    team = django_filters.CharFilter(field_name="team__name", help_text="Team name.")

    class Meta:
        model = IsoImage
        fields = ["host", "state", "source", "owner", "team"]


def visible(user: Any) -> QuerySet[IsoImage]:
    """The images the ISO library shows this user (accounts.access: own, team's; admins all)."""
    rows = IsoImage.objects.select_related("host", "owner", "team")
    # A host's facts and readiness are large JSON the list never shows: not decoded per row.
    return access.owned_for_user(rows.defer("host__facts", "host__readiness"), user)


class IsoList(generics.ListAPIView):
    """The ISO images you may see; `POST` fetches one from a URL, answering 202 with the job."""

    serializer_class = IsoSerializer
    filterset_class = IsoFilter
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        Search,
        filters.OrderingFilter,
    ]
    search_fields = ["file_name"]
    ordering_fields = ["file_name", "size_bytes", "created_at"]
    ordering = ["host__name", "file_name"]

    def get_queryset(self) -> QuerySet[IsoImage]:
        return visible(self.request.user)

    @extend_schema(
        request=IsoFetch,
        responses={202: IsoAccepted, **errors(400, 403)},
        summary="Fetch an ISO image",
    )
    def post(self, request: Request) -> Response:
        access.require_operator(request.user)
        form = FetchForm(body(request), user=request.user)
        by_code_and_name(form)
        started = start_fetch(form, request.user) if form.is_valid() else None
        if started is None:
            raise refuse(form)
        iso, job = started
        return accepted(job, request, iso=IsoSerializer(iso).data)


@extend_schema_view(get=extend_schema(responses={200: IsoDetailSerializer, **errors(404)}))
class IsoDetail(generics.RetrieveAPIView):
    """One image; `DELETE` removes it from its host (202 with the job), or only from the panel
    when nothing of the panel's is on the host (204)."""

    serializer_class = IsoDetailSerializer
    lookup_field = "code"

    def get_queryset(self) -> QuerySet[IsoImage]:
        return visible(self.request.user)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "confirm",
                str,
                required=False,
                description='The file name, as the page asks; or in the body as {"confirm": "…"}.',
            )
        ],
        responses={
            202: JobSerializer,
            204: OpenApiResponse(description="Removed from the panel; nothing was on the host."),
            **errors(400, 403, 404, e409="A domU uses it, or a job still works on it."),
        },
        summary="Delete an ISO image",
    )
    def delete(self, request: Request, code: str) -> Response:
        iso = access.get_owned_for_user(
            IsoImage.objects.select_related("host"), request.user, code, write=True
        )
        problem = DELETE_CONFIRM.unconfirmed(iso, confirmation(request))
        if problem:
            raise exceptions.ValidationError({"confirm": [problem]})
        try:
            job, _left = delete_image(iso, request.user)
        except Refused as exc:
            raise Conflict(str(exc)) from None
        if job is None:
            return Response(status=204)
        return accepted(job, request)
