"""What every room's API shares about jobs: the job representation and the 202 answer.

An action (start a domU, fetch an ISO, refresh a host) answers **202 Accepted** with the job it
queued as the body and `Location: /api/v1/jobs/<code>/`, where the client follows it (or its
events at `/api/v1/jobs/<code>/events`).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api_base import ApiErrorSerializer
from jobs.models import Job, JobStep

#: Characters of a step's output the API returns (its end: where errors are).
OUTPUT_TAIL = 4000


class JobStepSerializer(serializers.ModelSerializer):
    output_tail = serializers.SerializerMethodField(help_text="The end of the step's output.")

    class Meta:
        model = JobStep
        fields = ["seq", "label", "argv", "status", "rc", "seconds", "output_tail", "started_at"]

    def get_output_tail(self, step: JobStep) -> str:
        return step.output[-OUTPUT_TAIL:]


class JobSerializer(serializers.ModelSerializer):
    """A job as lists show it: status, progress and message, without its steps."""

    url = serializers.SerializerMethodField(help_text="This job in the API.")
    page = serializers.SerializerMethodField(help_text="This job's page in the panel.")
    # null for the jobs nobody asked for (the scheduled refreshes, autostart at boot)
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True,
        help_text="Who asked for it (null: the panel itself, e.g. a scheduled refresh).",
    )  # fmt: skip

    class Meta:
        model = Job
        fields = [
            "code", "kind", "title", "target_label", "status", "progress", "message", "error",
            "cancel_requested", "requested_by", "created_at", "started_at", "finished_at",
            "result", "url", "page",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, job: Job) -> str:
        return reverse("api:job", args=[job.code])

    def get_page(self, job: Job) -> str:
        return job.get_absolute_url()


class JobDetailSerializer(JobSerializer):
    """A job with its steps (argv, exit code, seconds, the end of the output)."""

    steps = JobStepSerializer(many=True, read_only=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "steps"]
        read_only_fields = fields


def accepted(job: Job, request: Request | None = None, **extra: Any) -> Response:
    """202 with the job as the body and its API URL in `Location` (plus `extra` body keys)."""
    body = dict(JobSerializer(job, context={"request": request}).data)
    body.update(extra)
    return Response(
        body,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": reverse("api:job", args=[job.code])},
    )


#: The one error shape (one "ApiError" component in the schema, whichever room documents it).
ErrorSerializer = ApiErrorSerializer


def errors(*codes: int) -> dict[int, type[ApiErrorSerializer]]:
    """`extend_schema(responses=...)` entries for the error answers a view can give."""
    return dict.fromkeys(codes, ErrorSerializer)
