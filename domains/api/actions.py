"""A domU's actions (the page's buttons, through the same functions) and its VNC details."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiToken
from domains import flows
from domains import vnc as vnc_info
from domains.access import get_domain_for_user, may_operate
from domains.api.bodies import conflict
from domains.api.views import errors
from jobs.api_support import JobSerializer, accepted

#: The API's action names -> the page's lifecycle keys (domains.actions.LIFECYCLE).
LIFECYCLE = {
    "start": "start",
    "shutdown": "shutdown",
    "power-button": "power_button",
    "reboot": "reboot",
    "force-reboot": "force_reboot",
    "pause": "pause",
    "unpause": "unpause",
    "destroy": "destroy",
    "eject-cd": "cd_eject",
}
OTHERS = ("finish-install", "insert-cd")


class ActionBody(serializers.Serializer):
    iso = serializers.UUIDField(
        required=False, help_text="insert-cd only: the code of a ready ISO of the domU's host."
    )


class DomainAction(APIView):
    """Start, shutdown, power-button, reboot, force-reboot, pause, unpause, destroy,
    finish-install, insert-cd (body `{"iso": "<code>"}`) or eject-cd: 202 with the job."""

    @extend_schema(
        request=ActionBody,
        responses={202: JobSerializer, **errors(400, 403, 404, 409)},
        parameters=[
            OpenApiParameter(
                "action",
                str,
                OpenApiParameter.PATH,
                enum=[*LIFECYCLE, *OTHERS],
                description="The action (404 for any other).",
            )
        ],
        description="Each action is the domU page's button: it is refused (409, with the "
        "page's message) when the domU's state does not offer it, e.g. start while it runs.",
    )
    def post(self, request: Request, code: str, action: str) -> Response:
        domain = get_domain_for_user(request.user, code, write=True)
        if action not in LIFECYCLE and action not in OTHERS:
            raise exceptions.NotFound("No such action.")
        try:
            if action == "finish-install":
                job = flows.finish_install(domain, request.user)
            elif action == "insert-cd":
                data = request.data if isinstance(request.data, dict) else {}
                if not data.get("iso"):
                    raise exceptions.ValidationError({"iso": ["Give an ISO image's code."]})
                job = flows.insert_cd(domain, data["iso"], request.user)
            else:
                job = flows.queue_lifecycle(domain, LIFECYCLE[action], request.user)
        except flows.Refused as exc:
            raise conflict(exc) from exc
        return accepted(job, request)


class VncSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Whether the domU has a VNC console.")
    address = serializers.CharField(
        allow_null=True, help_text="Where to connect (the host's address for 0.0.0.0)."
    )
    port = serializers.IntegerField(allow_null=True, help_text="The TCP port.")
    listen = serializers.CharField(help_text="The address VNC listens on, on the host.")
    loopback_only = serializers.BooleanField(
        allow_null=True, help_text="Only reachable through an SSH tunnel."
    )
    url = serializers.CharField(allow_null=True, help_text="vnc:// URL.")
    viewer = serializers.CharField(allow_null=True, help_text="A vncviewer command line.")
    tunnel = serializers.CharField(allow_null=True, help_text="The ssh -L command to paste.")
    tunnel_viewer = serializers.CharField(
        allow_null=True, help_text="The vncviewer command through that tunnel."
    )
    password = serializers.CharField(
        required=False,
        help_text="The VNC password: only for callers who may operate the domU (not for "
        "viewers, nor read-only tokens), as the page reveals it.",
    )


class DomainVnc(APIView):
    """How to reach the domU's VNC console."""

    @extend_schema(responses={200: VncSerializer, **errors(404)})
    def get(self, request: Request, code: str) -> Response:
        domain = get_domain_for_user(request.user, code)
        found = vnc_info.details_for(domain)
        out: dict[str, Any] = {
            "enabled": domain.vnc_enabled,
            "address": found.address if found else None,
            "port": found.port if found else None,
            "listen": domain.vnc_listen,
            "loopback_only": found.loopback_only if found else None,
            "url": found.url if found else None,
            "viewer": found.viewer if found else None,
            "tunnel": found.tunnel if found else None,
            "tunnel_viewer": found.tunnel_viewer if found else None,
        }
        token = request.auth if isinstance(request.auth, ApiToken) else None
        reads_only = token is not None and token.scope == ApiToken.Scope.READ
        if domain.vnc_enabled and may_operate(request.user, domain) and not reads_only:
            out["password"] = domain.vnc_password
        return Response(out)
