"""`volumes` and `volume`: list, create (202), detail, destroy (202) — the volume pages' rules."""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, filters, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import access
from dom0.units import binary_size
from hosts import access as host_access
from jobs.api_support import JobSerializer, accepted
from storage.api.common import (
    Conflict,
    HostRef,
    Search,
    UserOf,
    UserRefs,
    body,
    by_code_and_name,
    errors,
    refuse,
    users_of,
)
from storage.flows import DESTROY_CONFIRM, Refused, create_volume, destroy_volume
from storage.forms import VolumeForm
from storage.jobs import volumes as jobs
from storage.models import Volume


class VolumeSerializer(UserRefs, serializers.ModelSerializer):
    """A ZFS volume on a host (a domU's disk)."""

    host = HostRef(read_only=True, help_text="The host the volume is on.")
    name = serializers.CharField(read_only=True, help_text="The dataset's last part.")
    size = serializers.SerializerMethodField(
        help_text='Size in binary units, as the pages show it ("20 GiB", "1.5 TiB").'
    )
    url = serializers.SerializerMethodField(help_text="This volume in the API.")
    page = serializers.SerializerMethodField(help_text="This volume's page in the panel.")

    class Meta:
        model = Volume
        fields = [
            "code", "host", "dataset", "name", "size_bytes", "size", "used_bytes", "sparse",
            "state", "superseded", "owner", "team", "created_at", "url", "page",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "code": {"help_text": "The volume's code (its id in the API and the pages)."},
            "dataset": {"help_text": "The ZFS dataset, e.g. zroot/xen/web1-disk0."},
            "size_bytes": {"help_text": "Size (volsize) in bytes."},
            "used_bytes": {"help_text": "Space it takes in the pool (null: not read yet)."},
            "sparse": {"help_text": "Thin provisioned: no space reserved up front."},
            "state": {"help_text": "creating, ready, failed, destroying or missing (on host)."},
            "superseded": {
                "help_text": "The source copy a storage migration left behind (destroy it when "
                "the domU runs well from its new host)."
            },
            "created_at": {"help_text": "When it was added to the panel."},
        }

    def get_size(self, volume: Volume) -> str:
        return binary_size(volume.size_bytes)

    def get_url(self, volume: Volume) -> str:
        return reverse("api:volume", args=[volume.code])

    def get_page(self, volume: Volume) -> str:
        return volume.get_absolute_url()


class VolumeDetailSerializer(VolumeSerializer):
    in_use = serializers.SerializerMethodField(
        help_text="Why it may not be destroyed (a domU uses it as a disk), or null."
    )
    in_use_by = serializers.SerializerMethodField(help_text="What names it: domUs, templates.")

    class Meta(VolumeSerializer.Meta):
        fields = [*VolumeSerializer.Meta.fields, "in_use", "in_use_by"]
        read_only_fields = fields

    def get_in_use(self, volume: Volume) -> str | None:
        return jobs.volume_in_use(volume)

    @extend_schema_field(UserOf(many=True))
    def get_in_use_by(self, volume: Volume) -> list[dict[str, Any]]:
        return users_of(volume)


class VolumeCreate(serializers.Serializer):
    """What `POST /volumes/` reads (validated by the page's form, storage.forms.VolumeForm)."""

    host = serializers.UUIDField(help_text="Code of the host to make it on.")
    name = serializers.CharField(help_text="The dataset's last part, e.g. freebsd-disk0.")
    size = serializers.CharField(
        help_text="GiB, or with a unit (powers of 1024): 20, 1.5, 1536M, 1.5T. Checked against "
        "your disk quota."
    )
    sparse = serializers.BooleanField(
        required=False, default=False, help_text="Thin provisioning (no space reserved)."
    )
    team = serializers.CharField(
        required=False, help_text="One of your teams: its members may see and use it too."
    )


class VolumeAccepted(JobSerializer):
    volume = VolumeSerializer(help_text="The volume being made.")

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "volume"]


class VolumeFilter(django_filters.FilterSet):
    host = django_filters.UUIDFilter(field_name="host__code", help_text="Host code.")
    state = django_filters.ChoiceFilter(choices=Volume.State.choices, help_text="State.")
    owner = django_filters.CharFilter(field_name="owner__username", help_text="Owner user name.")
    team = django_filters.CharFilter(field_name="team__name", help_text="Team name.")
    superseded = django_filters.BooleanFilter(help_text="Left behind by a storage migration.")

    class Meta:
        model = Volume
        fields = ["host", "state", "owner", "team", "superseded"]


def visible(user: Any) -> QuerySet[Volume]:
    """The volumes the Storage page shows this user (accounts.access: own, team's; admins all)."""
    rows = Volume.objects.select_related("host", "owner", "team")
    # A host's facts and readiness are large JSON the list never shows: not decoded per row.
    return access.owned_for_user(rows.defer("host__facts", "host__readiness"), user)


class VolumeList(generics.ListAPIView):
    """The volumes you may see; `POST` makes one (`zfs create`), answering 202 with the job."""

    serializer_class = VolumeSerializer
    filterset_class = VolumeFilter
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        Search,
        filters.OrderingFilter,
    ]
    search_fields = ["dataset"]
    ordering_fields = ["dataset", "size_bytes", "created_at"]
    ordering = ["host__name", "dataset"]

    def get_queryset(self) -> QuerySet[Volume]:
        return visible(self.request.user)

    @extend_schema(
        request=VolumeCreate,
        responses={202: VolumeAccepted, **errors(400, 403)},
        summary="Create a volume",
    )
    def post(self, request: Request) -> Response:
        access.require_operator(request.user)
        data = body(request)
        host = host_access.hosts_for_user(request.user).filter(code=_uuid(data.get("host")))
        if not host:
            raise exceptions.ValidationError({"host": ["Choose a host by its code."]})
        form = VolumeForm(data, user=request.user, host=host[0])
        by_code_and_name(form)
        made = create_volume(form, request.user) if form.is_valid() else None
        if made is None:
            raise refuse(form)
        volume, job = made
        return accepted(job, request, volume=VolumeSerializer(volume).data)


@extend_schema_view(get=extend_schema(responses={200: VolumeDetailSerializer, **errors(404)}))
class VolumeDetail(generics.RetrieveAPIView):
    """One volume; `DELETE` destroys it on its host (`zfs destroy`), answering 202 with the job."""

    serializer_class = VolumeDetailSerializer
    lookup_field = "code"

    def get_queryset(self) -> QuerySet[Volume]:
        return visible(self.request.user)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "confirm",
                str,
                required=False,
                description="The volume's name (the dataset's last part), as the page asks; "
                'or send it in the body as {"confirm": "…"}.',
            )
        ],
        responses={
            202: JobSerializer,
            **errors(400, 403, 404, e409="A domU uses it, or it was never made on its host."),
        },
        summary="Destroy a volume",
    )
    def delete(self, request: Request, code: str) -> Response:
        volume = access.get_owned_for_user(
            Volume.objects.select_related("host"), request.user, code, write=True
        )
        problem = DESTROY_CONFIRM.unconfirmed(volume, confirmation(request))
        if problem:
            raise exceptions.ValidationError({"confirm": [problem]})
        try:
            job = destroy_volume(volume, request.user)
        except Refused as exc:
            raise Conflict(str(exc)) from None
        return accepted(job, request)


def confirmation(request: Request) -> str:
    """The typed name: `confirm` in the JSON body, or in the query (clients that send no body
    with DELETE)."""
    data = request.data if hasattr(request.data, "get") else {}
    value = data.get("confirm", request.query_params.get("confirm", ""))
    return value if isinstance(value, str) else ""


def _uuid(value: Any) -> Any:
    """`value` as a UUID, or None (a filter on None matches nothing)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
