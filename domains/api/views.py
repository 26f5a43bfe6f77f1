"""domUs: list (filtered, ordered, paginated), create through the new-domU form, detail, edit
through the edit form, delete with the typed-name confirmation."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import access
from accounts.api_base import ApiErrorSerializer
from domains import actions, flows, records
from domains.access import domains_for_user, get_domain_for_user
from domains.api.bodies import Conflict, body, conflict, form_body, invalid, shown_values
from domains.api.serializers import DomainDetailSerializer, DomainSerializer
from domains.editing.forms import EditForm
from domains.editing.views import REFUSED, SAVED, STALE_MESSAGE, save_edit, unreadable
from domains.forms import DomainForm, host_by_code
from domains.models import Domain, DomainState
from jobs.api_support import JobSerializer, accepted

ERRORS = {
    400: OpenApiResponse(
        ApiErrorSerializer, description="Invalid input: `fields` says which and why."
    ),
    403: OpenApiResponse(
        ApiErrorSerializer, description="A viewer (or a read-only token) may not act."
    ),
    404: OpenApiResponse(
        ApiErrorSerializer, description="No such domU, or one the caller may not see."
    ),
    409: OpenApiResponse(
        ApiErrorSerializer, description="Not possible in its current state: `detail` says why."
    ),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {c: ERRORS[c] for c in codes}


class DomainFilter(django_filters.FilterSet):
    host = django_filters.UUIDFilter(field_name="host__code", help_text="A host's code.")
    state = django_filters.ChoiceFilter(
        choices=DomainState.choices, help_text="A state code (see `state_code`)."
    )
    owner = django_filters.CharFilter(
        field_name="owner__username", help_text="The owner's username."
    )
    team = django_filters.CharFilter(field_name="team__name", help_text="The team's name.")

    class Meta:
        model = Domain
        fields = ["host", "state", "owner", "team"]


CreateBody = form_body(
    DomainForm,
    "DomainCreateBody",
    required=("name",),
)
CreateBody.__doc__ = (
    "The new-domU form's fields. Omitted fields take the value the page would show "
    "(the chosen host's bridge and VNC address, a generated password, a 20 GiB new volume...)."
)
EditBody = form_body(
    EditForm,
    "DomainEditBody",
    extra={
        "apply": serializers.BooleanField(
            required=False,
            help_text="Apply the changes to the running domU now when all of them can be "
            "(else they wait for its next start: restart_pending).",
        ),
        "base": serializers.IntegerField(
            required=False,
            help_text="The config version number the edit was made from; when given and no "
            "longer current, 409. Default: the current one.",
        ),
        "nicN_bridge": serializers.CharField(
            required=False, help_text="NIC N's bridge (N = its position; one field per NIC)."
        ),
        "nicN_mac": serializers.CharField(required=False, help_text="NIC N's MAC."),
        "nicN_remove": serializers.BooleanField(required=False, help_text="Remove NIC N."),
    },
)
EditBody.__doc__ = "The edit form's fields; omitted fields keep what the domU has now."


class DeleteBody(serializers.Serializer):
    confirm = serializers.CharField(
        help_text="Required: the domU's name, typed again (the page's confirmation)."
    )
    destroy_volume = serializers.BooleanField(
        required=False, default=False, help_text="Destroy its volume too (zfs destroy)."
    )


class EditResult(serializers.Serializer):
    message = serializers.CharField(help_text="What the save did, as the page says it.")
    domain = DomainDetailSerializer(help_text="The domU after the edit.")


class DomainList(generics.ListAPIView):
    """The domUs the caller may see; POST creates one (202 with the create job)."""

    serializer_class = DomainSerializer
    filterset_class = DomainFilter
    search_fields = ["name"]
    ordering_fields = ["name", "state", "memory_mb", "created_at"]
    ordering = ["name"]

    def get_queryset(self) -> Any:
        # A host's facts and readiness are large JSON the list never shows: not decoded per row.
        return (
            domains_for_user(self.request.user)
            .select_related("owner", "team")
            .defer("host__facts", "host__readiness")
        )

    @extend_schema(
        request=CreateBody,
        responses={202: JobSerializer, **errors(400, 403)},
        description="Create a domU from the same input and checks as the new-domU page "
        "(quota, pool space, memory, name, VNC exposure). Answers 202 with the create job and "
        "`domain` (the new domU's code) in the body.",
    )
    def post(self, request: Request) -> Response:
        access.require_operator(request.user)
        data = body(request.data)
        host = host_by_code(data.get("host", ""))
        shown = shown_values(DomainForm(user=request.user, host=host))
        form = DomainForm({**shown, **data}, user=request.user)
        if not form.is_valid():
            raise invalid(form)
        domain = flows.create_domain(form, request.user)
        if domain is None:
            raise invalid(form)
        job = actions.active_job(domain)
        assert job is not None
        return accepted(job, request, domain=str(domain.code))


class DomainDetail(generics.GenericAPIView):
    """One domU; PATCH edits it through the edit form, DELETE deletes it (202)."""

    serializer_class = DomainDetailSerializer

    def get_queryset(self) -> Any:
        return domains_for_user(self.request.user)

    def get(self, request: Request, code: str) -> Response:
        domain = get_domain_for_user(request.user, code)
        return Response(DomainDetailSerializer(domain, context={"request": request}).data)

    @extend_schema(
        request=EditBody,
        responses={200: EditResult, 202: JobSerializer, **errors(400, 403, 404, 409)},
        description="Save an edit as the next config version, as the edit page does. 202 with "
        "the job when one is queued (applying live, making a new volume), else 200.",
    )
    def patch(self, request: Request, code: str) -> Response:
        domain = get_domain_for_user(request.user, code, write=True)
        problem = unreadable(domain)
        if problem:
            raise Conflict(problem)
        data = body(request.data)
        apply_now = bool(data.pop("apply", False))
        current = records.current_version(domain)
        base = data.pop("base", None)
        base = str(base if base is not None else (current.number if current else 0))
        shown = shown_values(EditForm(domain=domain, user=request.user))
        form = EditForm({**shown, **data}, domain=domain, user=request.user)
        if not form.is_valid():
            raise invalid(form)
        saved = save_edit(domain, form, user=request.user, base=base, apply_now=apply_now)
        if saved.outcome == REFUSED:
            raise invalid(form)
        if saved.outcome != SAVED:
            raise Conflict(STALE_MESSAGE)
        domain.refresh_from_db()
        if saved.job is not None:
            return accepted(saved.job, request, message=saved.message)
        shown_domain = DomainDetailSerializer(domain, context={"request": request}).data
        return Response({"message": saved.message, "domain": shown_domain})

    @extend_schema(
        request=DeleteBody,
        responses={202: JobSerializer, **errors(400, 403, 404, 409)},
        description="Delete the domU (xl destroy, its config file, and its volume if asked). "
        "The body must repeat its name as `confirm`, as the page asks.",
    )
    def delete(self, request: Request, code: str) -> Response:
        domain = get_domain_for_user(request.user, code, write=True)
        data = request.data if isinstance(request.data, dict) and request.data else {}
        data = data or request.query_params
        if str(data.get("confirm", "")) != domain.name:
            said = f"Type the domU's name ({domain.name}) to delete it."
            raise exceptions.ValidationError({"confirm": [said]})
        try:
            job = flows.delete_domain(
                domain,
                confirm=str(data.get("confirm", "")),
                destroy_volume=_truthy(data.get("destroy_volume")),
                user=request.user,
            )
        except flows.Refused as exc:
            raise conflict(exc) from exc
        return accepted(job, request)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "on", "yes")
    return bool(value)
