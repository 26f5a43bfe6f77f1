"""The jobs API: list, detail with steps, cancel, and the event stream of one job.

Who sees which job is `jobs.access` (the rule of the Jobs pages); who may stop one is
`jobs.cancel` (the rule of the job page's Cancel button).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import access as job_access
from jobs import sse
from jobs.api_support import (
    ErrorSerializer,
    JobDetailSerializer,
    JobSerializer,
    JobStepSerializer,
    accepted,
    errors,
)
from jobs.cancel import cancel_for_user
from jobs.choices import JobStatus
from jobs.models import Job
from jobs.registry import quiet_kinds, target_filters


class JobFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=JobStatus.choices, help_text="The job's status.")
    kind = django_filters.CharFilter(help_text="The job's kind, e.g. `domain.start`.")
    host = django_filters.UUIDFilter(
        method="filter_host", help_text="The code of a host: jobs that act on it."
    )
    requested_by = django_filters.CharFilter(
        field_name="requested_by__username", help_text="The username of who asked for the job."
    )
    polls = django_filters.BooleanFilter(
        method="filter_polls",
        help_text="Include the scheduled host polls (hidden by default, as on the Jobs page).",
    )

    class Meta:
        model = Job
        fields = ["status", "kind", "host", "requested_by", "polls"]

    def filter_host(self, queryset: QuerySet[Job], name: str, value: Any) -> QuerySet[Job]:
        # The host model is above this room: the hosts app registered it as the "host" filter.
        spec = next((s for s in target_filters() if s.param == "host"), None)
        obj = spec.model._default_manager.filter(code=value).first() if spec else None
        return queryset.on(obj) if obj is not None else queryset.none()  # type: ignore[attr-defined]

    def filter_polls(self, queryset: QuerySet[Job], name: str, value: bool) -> QuerySet[Job]:
        return queryset  # get_queryset reads it: the default (absent) must hide polls too


@extend_schema(tags=["jobs"])
class JobList(generics.ListAPIView):
    """The jobs you may see (admins: all; others: theirs and those on objects they see), newest
    first. Scheduled host polls are left out unless `polls=true` or `kind` names them."""

    serializer_class = JobSerializer
    filterset_class = JobFilter
    search_fields = ["title"]
    ordering_fields = ["created_at", "finished_at", "status"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Job]:
        jobs = job_access.jobs_for_user(self.request.user)
        params = self.request.query_params
        if params.get("polls", "").lower() not in ("true", "1") and not params.get("kind"):
            jobs = jobs.exclude(kind__in=quiet_kinds())
        return jobs


@extend_schema(tags=["jobs"], responses={200: JobDetailSerializer, **errors(404)})
class JobDetail(generics.RetrieveAPIView):
    """A job with its steps: each command's argv, exit code, seconds and the end of its output."""

    serializer_class = JobDetailSerializer
    queryset = Job.objects.none()  # for the schema; get_object applies jobs.access
    filter_backends: list[Any] = []
    pagination_class = None

    def get_object(self) -> Job:
        return job_access.get_job_for_user(self.request.user, str(self.kwargs["code"]))


@extend_schema(tags=["jobs"], request=None, responses={202: JobSerializer, **errors(403, 404, 409)})
class JobCancel(APIView):
    """Ask a job to stop: yours, or anyone's for admins. A queued job is cancelled at once, a
    running one at its next check. 409 when it has already ended."""

    def post(self, request: Request, code: str) -> Response:
        job = job_access.get_job_for_user(request.user, str(code))
        if not cancel_for_user(request.user, job):
            job.refresh_from_db()
            raise Conflict(f"Job #{job.pk} has already ended ({job.status}): nothing to stop.")
        job.refresh_from_db()
        return accepted(job, request)


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The object is not in a state that allows this."
    default_code = "conflict"


class EventStreamRenderer(renderers.BaseRenderer):
    """Lets a client ask for `Accept: text/event-stream`; the stream itself is not rendered."""

    media_type = "text/event-stream"
    format = "event-stream"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, context: Any = None) -> bytes:
        return renderers.JSONRenderer().render(data)


class EventsQuery(serializers.Serializer):
    max_seconds = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=sse.MAX_SECONDS,
        help_text=f"Close the stream after this many seconds ({sse.DEFAULT_SECONDS} unless "
        f"given, at most {sse.MAX_SECONDS}); reconnect with `Last-Event-ID` to follow on.",
    )


class TooManyStreams(exceptions.Throttled):
    default_detail = (
        f"You already follow {sse.STREAMS_PER_USER} jobs over event streams. Close one (or wait "
        "until one ends), or poll GET /api/v1/jobs/<code>/ instead."
    )


@extend_schema(
    tags=["jobs"],
    parameters=[
        EventsQuery,
        OpenApiParameter(
            "Last-Event-ID",
            OpenApiTypes.INT,
            OpenApiParameter.HEADER,
            description="The `id` of the last event seen: only later steps are sent again.",
        ),
    ],
    responses={
        (200, "text/event-stream"): OpenApiResponse(
            # Described as one event (what OpenAPI tools, Schemathesis included, read an
            # event-stream schema as): its fields as the SSE format names them.
            {
                "type": "object",
                "properties": {
                    "event": {"type": "string", "enum": ["progress", "step", "end", "gone"]},
                    "id": {"type": "string"},
                    "data": {"type": "string", "description": "The job or step as JSON."},
                    "retry": {"type": "integer"},
                },
            },
            description="Server-Sent Events: `progress` (the job, when its status, progress or "
            "message changed), `step` (a step that started or ended), `end` (the job at its "
            "final status; the stream then closes); `: keep-alive` comments every 15 s. "
            f"The stream closes after {sse.DEFAULT_SECONDS} s (or `max_seconds`) even if the "
            "job still runs: reconnect with `Last-Event-ID`.",
        ),
        # Errors are JSON whatever the client asked for.
        **{(code, "application/json"): ErrorSerializer for code in (400, 404, 429)},
    },
)
class JobEvents(APIView):
    """Follow a job without polling (Server-Sent Events), until it ends or the stream's time is
    up (5 minutes unless `max_seconds` says otherwise, an hour at most); reconnect with
    `Last-Event-ID` to follow on. One user holds at most 4 streams at once: a fifth gets 429."""

    renderer_classes = [renderers.JSONRenderer, EventStreamRenderer]

    def get(self, request: Request, code: str) -> StreamingHttpResponse:
        job = job_access.get_job_for_user(request.user, str(code))
        query = EventsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        max_seconds = query.validated_data.get("max_seconds", sse.DEFAULT_SECONDS)
        slot = sse.open_slot(request.user.pk, max_seconds)
        if slot is None:
            raise TooManyStreams
        stream = sse.job_events(
            job.pk,
            job_json=lambda j: dict(JobSerializer(j).data),
            step_json=lambda s: dict(JobStepSerializer(s).data),
            after_step=sse.last_event_id(request.headers.get("Last-Event-ID")),
            max_seconds=max_seconds,
        )
        response = StreamingHttpResponse(
            sse.Counted(stream, request.user.pk, slot), content_type="text/event-stream"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Errors (404, 400) are JSON like everywhere in the API, even to an event-stream client.
        if isinstance(response, Response):
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
