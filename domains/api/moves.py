"""A domU's snapshots (take, delete, roll back) and migration (checks, move)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domains import flows
from domains.access import get_domain_for_user
from domains.api.bodies import body, conflict, form_body, invalid, shown_values
from domains.api.serializers import SnapshotSerializer
from domains.api.views import errors
from domains.migration import checks
from domains.migration.forms import MigrateForm
from domains.migration.views import queue_move
from domains.models import Domain, DomainSnapshot
from domains.snapshots.forms import SnapshotForm
from domains.snapshots.views import delete_snapshot, rollback_snapshot, take_snapshot
from jobs.api_support import JobSerializer, accepted

SnapshotBody = form_body(SnapshotForm, "SnapshotBody")
SnapshotBody.__doc__ = (
    "name (empty: snap-<date>-<time>) and mode (running or paused while it runs, stopped "
    "when it does not; default: the first that applies)."
)
MigrateBody = form_body(MigrateForm, "MigrateBody", required=("target",))


class RollbackBody(serializers.Serializer):
    confirm = serializers.CharField(
        help_text="Required: the snapshot's name, typed again (the page's confirmation)."
    )


def _snapshot(domain: Domain, name: str) -> DomainSnapshot:
    snap = domain.snapshots.filter(name=name).first()
    if snap is None:
        raise exceptions.NotFound("No such snapshot.")
    return snap


class SnapshotList(generics.ListAPIView):
    """The domU's snapshots, the newest first; POST takes one (202)."""

    serializer_class = SnapshotSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        domain = get_domain_for_user(self.request.user, self.kwargs["code"])
        return domain.snapshots.select_related("author").order_by("-created_at")

    @extend_schema(
        request=SnapshotBody, responses={202: JobSerializer, **errors(400, 403, 404, 409)}
    )
    def post(self, request: Request, code: str) -> Response:
        domain = get_domain_for_user(request.user, code, write=True)
        shown = shown_values(SnapshotForm(domain=domain))
        form = SnapshotForm({**shown, **body(request.data)}, domain=domain)
        if not form.is_valid():
            raise invalid(form)
        try:
            snap, job = take_snapshot(domain, form, request.user)
        except flows.Refused as exc:
            raise conflict(exc) from exc
        return accepted(job, request, snapshot=snap.name)


class SnapshotDetail(APIView):
    """DELETE destroys the snapshot (zfs destroy): 202."""

    @extend_schema(responses={202: JobSerializer, **errors(403, 404, 409)})
    def delete(self, request: Request, code: str, name: str) -> Response:
        domain = get_domain_for_user(request.user, code, write=True)
        try:
            job = delete_snapshot(domain, _snapshot(domain, name), request.user)
        except flows.Refused as exc:
            raise conflict(exc) from exc
        return accepted(job, request)


class SnapshotRollback(APIView):
    """Roll a shut-down domU back to the snapshot (later snapshots are destroyed): 202."""

    @extend_schema(
        request=RollbackBody, responses={202: JobSerializer, **errors(400, 403, 404, 409)}
    )
    def post(self, request: Request, code: str, name: str) -> Response:
        domain = get_domain_for_user(request.user, code, write=True)
        snap = _snapshot(domain, name)
        confirm = str(body(request.data).get("confirm", ""))
        if confirm != snap.name:
            said = f"Type the snapshot's name ({snap.name}) to roll back."
            raise exceptions.ValidationError({"confirm": [said]})
        try:
            job = rollback_snapshot(domain, snap, confirm=confirm, user=request.user)
        except flows.Refused as exc:
            raise conflict(exc) from exc
        return accepted(job, request)


class CheckSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Which check.")
    status = serializers.CharField(help_text="pass, warn or fail (fail blocks the move).")
    label = serializers.CharField(help_text="What it checks.")
    message = serializers.CharField(help_text="What it found.")


class PlanSerializer(serializers.Serializer):
    target = serializers.UUIDField(help_text="The target host's code.")
    target_name = serializers.CharField(help_text="The target host's name.")
    mode = serializers.CharField(help_text="live (xl migrate) or storage (zfs send/recv).")
    why = serializers.CharField(help_text="Why that mode.")
    blocking = serializers.BooleanField(help_text="Whether a failed check stops the move.")
    checks = CheckSerializer(many=True, help_text="The checklist.")


def _target(domain: Domain, user: Any, code: Any) -> Any:
    form = MigrateForm({"target": code or ""}, domain=domain, user=user)
    if not form.is_valid() or form.cleaned_data.get("target") is None:
        raise invalid(form)
    return form.cleaned_data["target"]


class MigrateChecks(APIView):
    """The plan and checklist of moving the domU to `?target=<host code>` (nothing runs)."""

    @extend_schema(
        parameters=[OpenApiParameter("target", str, required=True, description="A host code.")],
        responses={200: PlanSerializer, **errors(400, 403, 404)},
    )
    def get(self, request: Request, code: str) -> Response:
        domain = get_domain_for_user(request.user, code, write=True)
        target = _target(domain, request.user, request.query_params.get("target"))
        plan = checks.plan(domain, target)
        return Response(
            {
                "target": target.code,
                "target_name": target.name,
                "mode": plan.mode,
                "why": plan.why,
                "blocking": plan.blocking,
                "checks": [
                    {"key": c.key, "status": c.status, "label": c.label, "message": c.message}
                    for c in plan.checks
                ],
            }
        )


class Migrate(APIView):
    """Move the domU to another host (live or with its disks): 202, or 409 with the failed
    checks."""

    @extend_schema(
        request=MigrateBody, responses={202: JobSerializer, **errors(400, 403, 404, 409)}
    )
    def post(self, request: Request, code: str) -> Response:
        domain = get_domain_for_user(request.user, code, write=True)
        form = MigrateForm(body(request.data), domain=domain, user=request.user)
        if not form.is_valid():
            raise invalid(form)
        try:
            job, _ = queue_move(
                domain, form.cleaned_data["target"], form.cleaned_data["downtime"], request.user
            )
        except flows.Refused as exc:
            raise conflict(exc) from exc
        return accepted(job, request)
