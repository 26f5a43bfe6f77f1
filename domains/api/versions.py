"""A domU's config versions: list, one (with a unified diff against another), restore."""

from __future__ import annotations

import difflib
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.admin_lookups import fits_int64
from domains import cfg, flows
from domains.access import get_domain_for_user
from domains.api.bodies import conflict
from domains.api.serializers import VersionDetailSerializer, VersionSerializer
from domains.api.views import errors
from domains.models import DomainConfigVersion


def _version(domain: Any, number: int) -> DomainConfigVersion:
    # A number past 64 bits (the route takes any digits) would reach the database and overflow.
    version = (
        DomainConfigVersion.objects.filter(domain=domain, number=number).first()
        if fits_int64(str(number))
        else None
    )
    if version is None:
        raise exceptions.NotFound("No such version.")
    return version


class VersionList(generics.ListAPIView):
    """Every stored version of the domU's config, the newest first."""

    serializer_class = VersionSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        domain = get_domain_for_user(self.request.user, self.kwargs["code"])
        return domain.versions.select_related("author").order_by("-number")


class VersionDetail(APIView):
    """One version; `?diff=<other number>` adds the unified diff from that one to this."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "diff", int, description="Another version's number: adds `diff` (unified)."
            )
        ],
        responses={200: VersionDetailSerializer, **errors(400, 404)},
    )
    def get(self, request: Request, code: str, number: int) -> Response:
        domain = get_domain_for_user(request.user, code)
        version = _version(domain, number)
        out = dict(VersionSerializer(version).data)
        out["diff"] = None  # always present (null without ?diff=), as the schema says
        other = request.query_params.get("diff")
        if other is not None:
            try:
                wanted = int(other)
            except ValueError:
                raise exceptions.ValidationError({"diff": ["A version number."]}) from None
            if not fits_int64(str(wanted)):
                raise exceptions.ValidationError({"diff": ["No version has so large a number."]})
            old = _version(domain, wanted)
            lines = difflib.unified_diff(
                cfg.mask_password(old.text).splitlines(keepends=True),
                cfg.mask_password(version.text).splitlines(keepends=True),
                fromfile=f"version {old.number}",
                tofile=f"version {version.number}",
            )
            out["diff"] = "".join(lines)
        return Response(out)


class RestoreResult(serializers.Serializer):
    version = VersionSerializer(help_text="The new version, a copy of the restored one.")
    new_macs_for = serializers.ListField(
        child=serializers.CharField(),
        help_text="MACs of the old version another domU now has: those NICs got new ones.",
    )
    message = serializers.CharField(help_text="What happened, as the page says it.")


class VersionRestore(APIView):
    """Store an old version again as the newest (it takes effect at the next start)."""

    @extend_schema(request=None, responses={201: RestoreResult, **errors(403, 404, 409)})
    def post(self, request: Request, code: str, number: int) -> Response:
        domain = get_domain_for_user(request.user, code, write=True)
        version = _version(domain, number)
        try:
            restored = flows.restore_version(
                domain, version, user=request.user, request=request._request
            )
        except flows.Refused as exc:
            raise conflict(exc) from exc
        new = restored.version
        body = {
            "version": VersionSerializer(new).data,
            "new_macs_for": restored.clashes,
            "message": f"Version {number} restored as version {new.number}. It takes effect "
            "at the next start.",
        }
        return Response(body, status=status.HTTP_201_CREATED)
