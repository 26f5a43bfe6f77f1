"""The hosts API: every signed-in user reads hosts (to place domUs); admins add, change, remove
and refresh them, through the same form, key pinning and removal rule as the host pages
(`hosts.forms.HostForm`, `hosts.actions`, `hosts.access`).

A host's `facts` (its whole `xl list`, command lines) and its keys are never sent wholesale: the
representation carries the capacity figures kept in their own columns and key fingerprints only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import model_to_dict
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import require_admin
from hosts import access as host_access
from hosts import actions
from hosts.choices import HostStatus, MigrationTransfer, Transport
from hosts.forms import HostForm
from hosts.jobs import queue_refresh
from hosts.models import Host
from jobs.api import Conflict
from jobs.api_support import JobSerializer, accepted, errors


class HostSerializer(serializers.ModelSerializer):
    """A host as lists show it: how it is reached, its state and capacity, its readiness."""

    url = serializers.SerializerMethodField(help_text="This host in the API.")
    page = serializers.SerializerMethodField(help_text="This host's page in the panel.")

    class Meta:
        model = Host
        fields = [
            "code", "name", "address", "transport", "status", "status_reason", "xen_version",
            "nr_cpus", "total_memory_mib", "free_memory_mib", "domu_count", "readiness_passed",
            "readiness_total", "maintenance", "shared_storage", "migration_transfer",
            "refreshed_at", "url", "page",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "code": {"help_text": "The host's identifier in URLs."},
            "name": {"help_text": "The host's name in the panel."},
            "transport": {"help_text": "How the panel reaches the Dom0."},
            "status": {"help_text": "What the last refresh found."},
            "status_reason": {"help_text": "Why the host is unreachable or in error ('' if ok)."},
            "xen_version": {"help_text": "Xen's version, from `xl info`."},
            "nr_cpus": {"help_text": "Physical CPUs, from `xl info`."},
            "total_memory_mib": {"help_text": "The host's memory (MiB), from `xl info`."},
            "free_memory_mib": {"help_text": "Memory Xen can still give domUs (MiB)."},
            "domu_count": {"help_text": "DomUs running or paused at the last refresh."},
            "readiness_passed": {"help_text": "Readiness checks passed (null: never checked)."},
            "readiness_total": {"help_text": "Readiness checks run (null: never checked)."},
            "maintenance": {"help_text": "In maintenance: no new domUs are placed here."},
            "refreshed_at": {"help_text": "When the panel last read the host."},
        }

    def get_url(self, host: Host) -> str:
        return reverse("api:host", args=[host.code])

    def get_page(self, host: Host) -> str:
        return host.get_absolute_url()


class HostDetailSerializer(HostSerializer):
    """A host with the settings its page shows (those the form edits) and its key fingerprints."""

    class Meta(HostSerializer.Meta):
        fields = [
            *HostSerializer.Meta.fields, "ssh_user", "ssh_port", "volumes_parent", "iso_dir",
            "config_dir", "default_bridge", "vnc_listen", "queue", "vnc_exposure_allowed",
            "host_key_fingerprint", "pending_host_key_fingerprint",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            **HostSerializer.Meta.extra_kwargs,
            "host_key_fingerprint": {"help_text": "The pinned SSH host key's SHA256 fingerprint."},
            "pending_host_key_fingerprint": {
                "help_text": "A key the host offered that nobody trusted yet: compare it on the "
                "host, then pin it (`hosts/<code>/key/pin/`)."
            },
        }


class HostInput(serializers.Serializer):
    """The host form's fields (for the schema: the form itself validates)."""

    name = serializers.CharField(help_text="Starts with a letter; letters, digits, '.', '-'.")
    address = serializers.CharField(
        required=False, allow_blank=True, help_text="IP address or DNS name (SSH hosts need it)."
    )
    transport = serializers.ChoiceField(
        choices=Transport.choices,
        help_text="ssh or local (simulated hosts are made with `manage.py sim_host`).",
    )
    ssh_user = serializers.CharField(help_text="The user the panel logs in as (e.g. root).")
    ssh_port = serializers.IntegerField(min_value=1, max_value=65535, help_text="SSH port.")
    volumes_parent = serializers.CharField(help_text="ZFS dataset under which volumes are made.")
    iso_dir = serializers.CharField(help_text="Absolute directory of ISO images on the host.")
    config_dir = serializers.CharField(help_text="Absolute directory of domU configs.")
    default_bridge = serializers.CharField(help_text="Bridge new domUs attach to.")
    vnc_listen = serializers.CharField(help_text="Default VNC listen address of new domUs.")
    queue = serializers.CharField(
        required=False, allow_blank=True, help_text="Celery queue ('' for the central pool)."
    )
    shared_storage = serializers.CharField(
        required=False, allow_blank=True, help_text="Shared-storage label ('' for local disks)."
    )
    migration_transfer = serializers.ChoiceField(
        choices=MigrationTransfer.choices, required=False, help_text="How migration bytes leave."
    )
    vnc_exposure_allowed = serializers.BooleanField(
        required=False, help_text="Allow domU VNC beyond loopback on this host."
    )


class KeyReadSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Whether the host answered with a key.")
    message = serializers.CharField(help_text="What the host offered, and what to do next.")


class HostSaved(HostDetailSerializer):
    """A host just saved, with the outcome of reading its SSH host key (when one was read)."""

    host_key_read = serializers.SerializerMethodField(
        help_text="Reading the host key of a new SSH host (or one that moved); null otherwise."
    )

    class Meta(HostDetailSerializer.Meta):
        fields = [*HostDetailSerializer.Meta.fields, "host_key_read"]
        read_only_fields = fields

    def get_host_key_read(self, host: Host) -> dict[str, Any] | None:
        key = self.context.get("key")
        return {"ok": key.ok, "message": key.message} if key is not None else None


class ReadinessItemSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The check's identifier.")
    title = serializers.CharField(help_text="What is checked.")
    status = serializers.CharField(help_text="Its result: pass, fail or unknown.")
    detail = serializers.CharField(help_text="What the host showed.")
    fix = serializers.CharField(help_text="The command an admin runs to fix it ('' if none).")


class ReadinessSerializer(serializers.Serializer):
    host = serializers.CharField(help_text="The host's name.")
    passed = serializers.IntegerField(allow_null=True, help_text="Checks passed (null: never).")
    total = serializers.IntegerField(allow_null=True, help_text="Checks run (null: never).")
    refreshed_at = serializers.DateTimeField(allow_null=True, help_text="When they last ran.")
    items = ReadinessItemSerializer(many=True, help_text="The checklist, as last stored.")


class PinInput(serializers.Serializer):
    fingerprint = serializers.CharField(help_text="The pending key's fingerprint, as shown.")


class HostFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=HostStatus.choices, help_text="Host status.")
    transport = django_filters.ChoiceFilter(choices=Transport.choices, help_text="Transport.")
    maintenance = django_filters.BooleanFilter(help_text="In maintenance or not.")
    shared_storage = django_filters.CharFilter(help_text="Shared-storage label.")

    class Meta:
        model = Host
        fields = ["status", "transport", "maintenance", "shared_storage"]


def form_input(data: Any, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The request body as form data (over `base` for a PATCH); unknown keys are refused, so a
    typo does not pass silently as "nothing to change"."""
    if not isinstance(data, Mapping):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    unknown = sorted(set(data) - set(HostForm.Meta.fields))
    if unknown:
        raise exceptions.ValidationError(
            {name: ["Not a field of a host one can set."] for name in unknown}
        )
    return {**(base or {}), **{key: data[key] for key in data}}


def form_errors(form: HostForm) -> exceptions.ValidationError:
    return exceptions.ValidationError({k: list(v) for k, v in form.errors.items()})


@extend_schema(tags=["hosts"])
class HostList(generics.ListCreateAPIView):
    """Every host (all signed-in users see them, to place domUs). POST adds one (admins)."""

    serializer_class = HostSerializer
    filterset_class = HostFilter
    search_fields = ["name", "address"]
    ordering_fields = ["name", "status", "refreshed_at", "free_memory_mib", "created_at"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Host]:
        return host_access.hosts_for_user(self.request.user)

    @extend_schema(request=HostInput, responses={201: HostSaved, **errors(400, 403)})
    def post(self, request: Request) -> Response:
        require_admin(request.user)
        form = HostForm(form_input(request.data))
        if not form.is_valid():
            raise form_errors(form)
        host, key = actions.save_host(form)
        body = HostSaved(host, context={"key": key}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})


@extend_schema(tags=["hosts"])
class HostDetail(APIView):
    """One host. PATCH changes the fields given (admins, through the host form); DELETE removes
    it from the panel (admins; `confirm` must be the host's name, as on the page)."""

    @extend_schema(responses={200: HostDetailSerializer, **errors(404)})
    def get(self, request: Request, code: str) -> Response:
        host = host_access.get_host_for_user(request.user, str(code))
        return Response(HostDetailSerializer(host).data)

    @extend_schema(
        request=HostInput(partial=True), responses={200: HostSaved, **errors(400, 403, 404)}
    )
    def patch(self, request: Request, code: str) -> Response:
        host = host_access.get_host_for_user(request.user, str(code), write=True)
        current = model_to_dict(host, fields=HostForm.Meta.fields)
        base = {k: v for k, v in current.items() if v is not None}
        form = actions.edit_form(host, form_input(request.data, base))
        if not form.is_valid():
            raise form_errors(form)
        host, key = actions.save_host(form)
        host.refresh_from_db()
        return Response(HostSaved(host, context={"key": key}).data)

    @extend_schema(
        request=serializers.DictField(help_text='{"confirm": "<host name>"}'),
        responses={204: None, **errors(400, 403, 404)},
    )
    def delete(self, request: Request, code: str) -> Response:
        host = host_access.get_host_for_user(request.user, str(code), write=True)
        data = request.data if isinstance(request.data, Mapping) else {}
        confirm = str(data.get("confirm") or request.query_params.get("confirm", ""))
        refusal = actions.removal_refusal(host, confirm)
        if refusal:
            raise exceptions.ValidationError({"confirm": [refusal]})
        actions.remove_host(host)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["hosts"], request=None, responses={202: JobSerializer, **errors(403, 404)})
class HostRefresh(APIView):
    """Read the host again: `xl info`, `xl list` and the readiness checklist (admins)."""

    def post(self, request: Request, code: str) -> Response:
        host = host_access.get_host_for_user(request.user, str(code), write=True)
        with transaction.atomic():
            job = queue_refresh(host, user=request.user)
        return accepted(job, request)


@extend_schema(tags=["hosts"])
class HostReadiness(APIView):
    """The Dom0 readiness checklist as the last full refresh stored it; POST runs it again."""

    @extend_schema(responses={200: ReadinessSerializer, **errors(404)})
    def get(self, request: Request, code: str) -> Response:
        host = host_access.get_host_for_user(request.user, str(code))
        body = {
            "host": host.name,
            "passed": host.readiness_passed,
            "total": host.readiness_total,
            "refreshed_at": host.refreshed_at,
            "items": host.readiness or [],
        }
        return Response(ReadinessSerializer(body).data)

    @extend_schema(request=None, responses={202: JobSerializer, **errors(403, 404)})
    def post(self, request: Request, code: str) -> Response:
        # The checklist is gathered by the full refresh (the page's one button does both).
        host = host_access.get_host_for_user(request.user, str(code), write=True)
        with transaction.atomic():
            job = queue_refresh(host, user=request.user, full=True)
        return accepted(job, request)


@extend_schema(
    tags=["hosts"], request=None, responses={200: KeyReadSerializer, **errors(403, 404, 409)}
)
class HostKeyFetch(APIView):
    """Ask an SSH host for its host key again; it is kept as pending until pinned (admins)."""

    def post(self, request: Request, code: str) -> Response:
        host = host_access.get_host_for_user(request.user, str(code), write=True)
        if host.transport != Transport.SSH:
            raise Conflict(f"{host.name} is not reached over SSH: it has no host key to read.")
        key = actions.read_host_key(host)
        return Response({"ok": key.ok, "message": key.message})


@extend_schema(
    tags=["hosts"],
    request=PinInput,
    responses={200: HostDetailSerializer, **errors(400, 403, 404, 409)},
)
class HostKeyPin(APIView):
    """Trust the key the host offered, after comparing its fingerprint on the host (admins)."""

    def post(self, request: Request, code: str) -> Response:
        host = host_access.get_host_for_user(request.user, str(code), write=True)
        data = PinInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not actions.pin_host_key(host, data.validated_data["fingerprint"]):
            raise Conflict(
                "The key changed since it was shown (or none is pending): fetch it again."
            )
        return Response(HostDetailSerializer(host).data)
