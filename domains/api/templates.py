"""Templates and clones: list and show templates, make one of a stopped domU, new domUs from one,
promote a clone's disks, delete a template without clones.

Every write goes through `domains.clones.flows` (what the template pages call) and the clone
picker's own form, so the API accepts and refuses exactly what the pages do.
"""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from accounts.api_base import ApiErrorSerializer
from domains.access import get_domain_for_user
from domains.api.bodies import body, conflict, form_body, invalid, shown_values
from domains.api.template_serializers import (
    TemplateDetailSerializer,
    TemplateSerializer,
    page_context,
)
from domains.api.views import errors
from domains.clones import flows
from domains.clones.forms import CloneForm, template_choices
from domains.flows import Refused
from domains.models import DomainTemplate
from jobs.api_support import JobSerializer, accepted

TEMPLATE_ERRORS = {
    400: OpenApiResponse(
        ApiErrorSerializer, description="Invalid input: `fields` says which and why."
    ),
    403: OpenApiResponse(
        ApiErrorSerializer, description="A viewer (or a read-only token) may not act."
    ),
    404: OpenApiResponse(
        ApiErrorSerializer, description="No such template, or one the caller may not see."
    ),
    409: OpenApiResponse(
        ApiErrorSerializer, description="Not possible in its current state: `detail` says why."
    ),
}


def template_errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {c: TEMPLATE_ERRORS[c] for c in codes}


class TemplateFilter(django_filters.FilterSet):
    host = django_filters.UUIDFilter(field_name="host__code", help_text="A host's code.")
    state = django_filters.ChoiceFilter(
        choices=DomainTemplate.State.choices, help_text="creating, ready, failed or deleting."
    )
    owner = django_filters.CharFilter(
        field_name="owner__username", help_text="The owner's username."
    )
    team = django_filters.CharFilter(field_name="team__name", help_text="The team's name.")

    class Meta:
        model = DomainTemplate
        fields = ["host", "state", "owner", "team"]


# --- request bodies (for the schema: the forms and flows validate) -----------------------------
class MakeTemplateBody(serializers.Serializer):
    confirm = serializers.CharField(
        help_text="Required: the domU's name, typed again (the page's confirmation)."
    )
    name = serializers.CharField(
        required=False, help_text="The template's name; default: the domU's name."
    )


class _CloneFields(CloneForm):
    template = None  # type: ignore[assignment]  # from the URL, not the body


CloneBody = form_body(
    _CloneFields,
    "TemplateCloneBody",
    required=("name",),
    extra={
        "bridge_N": serializers.CharField(
            required=False,
            help_text="The bridge of the template's NIC N (one field per NIC, N from 0); "
            "default: the template's.",
        )
    },
)
CloneBody.__doc__ = (
    "The clone picker's fields: `name` is one name, or a pattern with {n} for `count` domUs "
    "numbered from `start` (web-{n}, count 2, start 1: web-1 and web-2). memory_mb, vcpus and "
    "the bridges default to the template's."
)


class DeleteTemplateBody(serializers.Serializer):
    confirm = serializers.CharField(
        help_text="Required: the template's name, typed again (the page's confirmation)."
    )


class CloneBatchSerializer(JobSerializer):
    """The first clone job (the body and `Location`), with every job and domU of the batch."""

    jobs = JobSerializer(many=True, help_text="One create job per new domU, in name order.")
    domains = serializers.ListField(
        child=serializers.UUIDField(), help_text="The new domUs' codes, in the same order."
    )

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "jobs", "domains"]
        read_only_fields = fields


class PromoteSerializer(JobSerializer):
    effects = serializers.CharField(help_text="What the promote changes, as the page says it.")

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "effects"]
        read_only_fields = fields


def _confirm(data: Any, name: str, what: str) -> str:
    confirm = str(body(data).get("confirm", ""))
    if confirm != name:
        raise exceptions.ValidationError({"confirm": [f"Type {what} ({name}) to go on."]})
    return confirm


# --- views -------------------------------------------------------------------------------------
class TemplateList(generics.ListAPIView):
    """The templates the caller may see (their own, their teams'; all for admins)."""

    serializer_class = TemplateSerializer
    filterset_class = TemplateFilter
    search_fields = ["name"]
    ordering_fields = ["name", "state", "memory_mb", "created_at"]
    ordering = ["name"]

    def get_queryset(self) -> Any:
        return (
            template_choices(self.request.user)
            .select_related("host", "owner", "team")
            .defer("host__facts", "host__readiness")
            .prefetch_related("volumes")
        )

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        # The page's sources, dependents and refusals in a few queries, not a few per row.
        if kwargs.get("many") and args:
            page = list(args[0])
            kwargs["context"] = {**self.get_serializer_context(), **page_context(page)}
            args = (page, *args[1:])
        return super().get_serializer(*args, **kwargs)


class TemplateDetail(generics.GenericAPIView):
    """One template; DELETE deletes it (202) once no clone depends on it."""

    serializer_class = TemplateDetailSerializer

    def get_queryset(self) -> Any:
        return template_choices(self.request.user)

    @extend_schema(responses={200: TemplateDetailSerializer, **template_errors(404)})
    def get(self, request: Request, code: str) -> Response:
        template = flows.template_for_user(request.user, code)
        return Response(TemplateDetailSerializer(template, context={"request": request}).data)

    @extend_schema(
        request=DeleteTemplateBody,
        responses={202: JobSerializer, **template_errors(400, 403, 404, 409)},
        description="Delete the template and its volumes (zfs destroy -r). Refused (409) while "
        "domUs cloned from it exist: delete or promote them first.",
    )
    def delete(self, request: Request, code: str) -> Response:
        template = flows.template_for_user(request.user, code, write=True)
        data = request.data if isinstance(request.data, dict) and request.data else {}
        confirm = _confirm(data or dict(request.query_params.items()), template.name, "its name")
        try:
            job = flows.delete_template(template, confirm=confirm, user=request.user)
        except Refused as exc:
            raise conflict(exc) from exc
        return accepted(job, request)


class MakeTemplate(APIView):
    """Make a stopped domU a template (it leaves the domU list): 202."""

    @extend_schema(
        request=MakeTemplateBody,
        responses={202: JobSerializer, **errors(400, 403, 404, 409)},
        description="Snapshot its volumes, make them read-only and remove its config, as the "
        "domU page's Make a template does. 409 (with the page's sentence) while it runs, "
        "without a volume, or when the host has a template of that name. The job's `result` "
        "holds the template's code once it succeeded.",
    )
    def post(self, request: Request, code: str) -> Response:
        domain = get_domain_for_user(request.user, code, write=True)
        data = body(request.data)
        confirm = _confirm(data, domain.name, "the domU's name")
        name = str(data.get("name") or domain.name).strip()
        try:
            job = flows.make_template(domain, name=name, confirm=confirm, user=request.user)
        except Refused as exc:
            raise conflict(exc) from exc
        return accepted(job, request)


class TemplateClones(APIView):
    """New domUs from a template, one or a numbered batch: 202 with the first job and all."""

    @extend_schema(
        request=CloneBody,
        responses={202: CloneBatchSerializer, **template_errors(400, 403, 404)},
        description="The clone picker's checks for all N at once (names, datasets, VNC "
        "displays, free memory, quota): 400 with `fields` when any fails, and nothing is made. "
        "Each new domU gets its own create job; `Location` is the first one's.",
    )
    def post(self, request: Request, code: str) -> Response:
        template = flows.template_for_user(request.user, code)
        access.require_operator(request.user)
        shown = shown_values(CloneForm(user=request.user, template=template))
        data = {**shown, **body(request.data), "template": str(template.code)}
        form = CloneForm(data, user=request.user, template=template)
        if not form.is_valid():
            raise invalid(form)
        made = flows.create_clones(form, request.user)
        if not made:
            raise invalid(form)
        jobs = JobSerializer([j for _, j in made], many=True, context={"request": request})
        return accepted(made[0][1], request, jobs=jobs.data, domains=[str(d.code) for d, _ in made])


class Promote(APIView):
    """Promote a clone's disks (zfs promote): 202 with what it changes."""

    @extend_schema(
        request=None,
        responses={202: PromoteSerializer, **errors(403, 404, 409)},
        description="The template (or domU) the disks were cloned from changes too: the caller "
        "must be allowed to change it (404/403 otherwise). 409 when its disks are not clones, "
        "are still being made, or the template is making clones right now.",
    )
    def post(self, request: Request, code: str) -> Response:
        domain = get_domain_for_user(request.user, code, write=True)
        try:
            done = flows.promote(domain, request.user)
        except Refused as exc:
            raise conflict(exc) from exc
        return accepted(done.job, request, effects=done.effects.text())
