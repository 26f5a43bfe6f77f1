"""The accounts API: who am I (role, teams, quotas), my personal tokens, and the audit list.

Tokens follow the Tokens page's rules from the same code (`accounts.tokens`: the form, who sees
which token, the audit entries); the audit list filters like the Audit page and is for admins
(`accounts.access.require_admin`). Quota figures come from `accounts.quotas` and
`accounts.people`, as on the forms and the Users page.

A token may list or revoke tokens only with the read+write scope: a leaked read token must not
reveal the names and prefixes of its user's other tokens. A token made with a token cannot
outlive it (`TokenForm(limit=...)`).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access, people, quotas, tokens
from accounts.api_base import ApiErrorSerializer
from accounts.models import ApiToken, AuditAction, AuditEntry


def errors(*codes: int) -> dict[int, Any]:
    """`extend_schema(responses=...)` entries for the error answers a view can give."""
    return dict.fromkeys(codes, ApiErrorSerializer)


# --- me -----------------------------------------------------------------------------------------
class QuotaRowSerializer(serializers.Serializer):
    resource = serializers.ChoiceField(
        choices=quotas.RESOURCES,
        help_text="memory_mb (MiB), vcpus, disk_bytes (bytes), iso_bytes (bytes) or domus.",
    )
    label = serializers.CharField(help_text="The resource as the panel names it.")
    scope = serializers.CharField(help_text="Whose limit: `user alice` or `team lab` (shared).")
    limit = serializers.IntegerField(help_text="The limit, in the resource's unit.")
    used = serializers.IntegerField(help_text="What the user or team holds now.")
    left = serializers.IntegerField(help_text="What may still be taken under this limit.")


class UsageSerializer(serializers.Serializer):
    resource = serializers.ChoiceField(choices=quotas.RESOURCES, help_text="The resource.")
    label = serializers.CharField(help_text="The resource as the panel names it.")
    used = serializers.IntegerField(help_text="What the user owns, in the resource's unit.")
    limit = serializers.IntegerField(
        allow_null=True, help_text="The user's own limit (null: none of their own)."
    )


class MeSerializer(serializers.Serializer):
    username = serializers.CharField(help_text="Your user name.")
    email = serializers.CharField(help_text="Your email address (may be empty).")
    role = serializers.ChoiceField(
        choices=[access.ADMIN_GROUP, access.OPERATOR_GROUP, access.VIEWER_GROUP],
        help_text="admin (everything), operator (create and run what you or your teams own) "
        "or viewer (read only).",
    )
    teams = serializers.ListField(
        child=serializers.CharField(), help_text="The teams you are in (their objects are shared)."
    )
    token_scope = serializers.CharField(
        allow_null=True,
        help_text="The scope of the token this request used (`read` or `write`); null for the "
        "browser session.",
    )
    quotas = QuotaRowSerializer(
        many=True,
        help_text="Every limit that applies to you (your own and each team's) with its use: what "
        "the create forms check. Empty for admins (no limits) and when none is set.",
    )
    usage = UsageSerializer(many=True, help_text="What you own, against your own quota.")


@extend_schema(tags=["accounts"], responses={200: MeSerializer, **errors(401)})
class Me(APIView):
    """Who you are to the panel: role, teams, and your quotas with their use."""

    def get(self, request: Request) -> Response:
        user = request.user
        token = request.auth if isinstance(request.auth, ApiToken) else None
        body = {
            "username": user.get_username(),
            "email": user.email,
            "role": access.role(user),
            "teams": sorted(
                user.groups.exclude(name__in=access.ROLE_GROUPS).values_list("name", flat=True)
            ),
            "token_scope": token.scope if token else None,
            "quotas": [
                {
                    "resource": r.resource,
                    "label": r.label,
                    "scope": r.scope,
                    "limit": r.limit,
                    "used": r.used,
                    "left": r.left,
                }
                for r in quotas.remaining(user)
            ],  # fmt: skip
            "usage": [
                {"resource": u.resource, "label": u.label, "used": u.used, "limit": u.limit}
                for u in people.user_usage(user)
            ],
        }
        return Response(MeSerializer(body).data)


# --- tokens -------------------------------------------------------------------------------------
class ManagesTokens(BasePermission):
    """Tokens are listed and revoked with the session or a read+write token, never a read one."""

    message = (
        "A read token cannot list or revoke API tokens: use a read+write token or the Tokens page."
    )

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        return not (isinstance(token, ApiToken) and token.scope == ApiToken.Scope.READ)


class TokenSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="Whose token it is."
    )
    name = serializers.CharField(help_text="What the token is for.")
    prefix = serializers.CharField(
        help_text="The public part of the token (`xp_<prefix>_…`): how to recognise it."
    )
    scope = serializers.ChoiceField(
        choices=ApiToken.Scope.choices,
        help_text="`read`: GET requests only; `write`: everything its user's role allows.",
    )
    state = serializers.SerializerMethodField(help_text="active, expired or revoked.")
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When it stops working (null: never)."
    )
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was last used (to the minute; null: never)."
    )
    created_at = serializers.DateTimeField(help_text="When it was made.")
    revoked_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was revoked (null: not revoked)."
    )

    class Meta:
        model = ApiToken
        fields = [
            "id", "user", "name", "prefix", "scope", "state", "expires_at", "last_used_at",
            "created_at", "revoked_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"id": {"help_text": "The token's number: `/api/v1/tokens/<id>/`."}}

    def get_state(self, token: ApiToken) -> str:
        return tokens.state(token)


class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(
        help_text="The token's text, `xp_<prefix>_<secret>`: returned only in this answer and "
        "kept nowhere (the panel stores a hash). Send it as `Authorization: Bearer <token>`."
    )

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class TokenCreateSerializer(serializers.Serializer):
    """The Tokens page's form, as JSON (validated by the same `accounts.tokens.TokenForm`)."""

    name = serializers.CharField(max_length=64, help_text="What the token is for.")
    scope = serializers.ChoiceField(
        choices=ApiToken.Scope.choices,
        default=ApiToken.Scope.READ,
        help_text="`read` (default) or `write`. A viewer may only make read tokens.",
    )
    expires_on = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Optional day (YYYY-MM-DD) after today: the token stops working at its end "
        "(panel time zone). A token made with a token must expire on or before that token.",
    )


class TokenFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(
        field_name="user__username", help_text="Whose tokens (admins see everyone's)."
    )
    scope = django_filters.ChoiceFilter(choices=ApiToken.Scope.choices, help_text="The scope.")
    revoked = django_filters.BooleanFilter(
        field_name="revoked_at", lookup_expr="isnull", exclude=True,
        help_text="true: only revoked tokens; false: only those not revoked.",
    )  # fmt: skip

    class Meta:
        model = ApiToken
        fields = ["user", "scope", "revoked"]


@extend_schema(tags=["accounts"])
class TokenList(generics.ListAPIView):
    """Your API tokens (admins: everyone's), newest first; `POST` makes one (signed in only)."""

    serializer_class = TokenSerializer
    permission_classes = [*generics.ListAPIView.permission_classes, ManagesTokens]
    filterset_class = TokenFilter
    search_fields = ["name", "prefix"]
    ordering_fields = ["created_at", "last_used_at", "expires_at", "name"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()  # the schema generator has no user
        return tokens.visible(self.request.user)

    @extend_schema(responses={200: TokenSerializer(many=True), **errors(401, 403)})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=TokenCreateSerializer,
        responses={201: NewTokenSerializer, **errors(400, 401, 403)},
        description="Make a token for yourself; its text is in this answer only. Audited. "
        "Signed in only (the session, with its CSRF token): a request made with a token is "
        "refused (403), since a token made by a token would outlive the revocation of its maker.",
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiToken):
            # A leaked token could otherwise mint successors that survive its revocation.
            raise exceptions.PermissionDenied(
                "Create tokens on the Tokens page (signed in): a token cannot make tokens."
            )
        typed = TokenCreateSerializer(data=request.data)
        typed.is_valid(raise_exception=True)
        day = typed.validated_data.get("expires_on")
        data = {
            "name": typed.validated_data["name"],
            "scope": typed.validated_data["scope"],
            "expires_on": day.isoformat() if day else "",
        }
        # Then the page's own form: the same rules (viewer scope, expiry after today).
        form = tokens.TokenForm(data, user=request.user)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors.get_json_data(escape_html=False))
        issued = tokens.create(request._request, request.user, form)
        body = {**TokenSerializer(issued.token).data, "token": issued.secret}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=["accounts"])
class TokenDetail(APIView):
    """One of your API tokens (admins: anyone's); `DELETE` revokes it."""

    permission_classes = [*APIView.permission_classes, ManagesTokens]

    @extend_schema(responses={200: TokenSerializer, **errors(401, 403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        return Response(TokenSerializer(tokens.get_visible(request.user, pk)).data)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Revoked (or it was already): it answers 401 now."),
            **errors(401, 403, 404),
        },
        description="Revoke the token: every request with it answers 401 from now on. Audited.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        tokens.revoke_audited(request._request, tokens.get_visible(request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- audit (admins) -----------------------------------------------------------------------------
class AuditSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor_name", help_text="Who acted (the name is kept if the user is deleted)."
    )
    action = serializers.ChoiceField(choices=AuditAction.choices, help_text="What happened.")
    action_label = serializers.CharField(
        source="get_action_display", help_text="The action as the Audit page words it."
    )
    target_type = serializers.CharField(help_text="The kind of object (user, domain, api_token…).")
    target_label = serializers.CharField(help_text="The object as it was named then.")
    target_url = serializers.CharField(help_text="Its page in the panel, if it has one.")
    address = serializers.IPAddressField(
        allow_null=True, help_text="The address the request came from."
    )
    details = serializers.DictField(help_text="What changed (never a secret).")
    created_at = serializers.DateTimeField(help_text="When.")

    class Meta:
        model = AuditEntry
        fields = [
            "id", "created_at", "actor", "action", "action_label", "target_type",
            "target_label", "target_url", "address", "details",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"id": {"help_text": "The entry's number."}}


class AuditFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, help_text="What happened.")
    actor = django_filters.CharFilter(
        field_name="actor_name", help_text="The username of who acted (exact)."
    )
    target_type = django_filters.CharFilter(
        lookup_expr="iexact", help_text="The kind of object: user, domain, api_token, …"
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="At or after (ISO 8601)."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lte", help_text="At or before (ISO 8601)."
    )

    class Meta:
        model = AuditEntry
        fields = ["action", "actor", "target_type", "since", "until"]


@extend_schema(tags=["accounts"], responses={200: AuditSerializer(many=True), **errors(401, 403)})
class AuditList(generics.ListAPIView):
    """The audit list (admins): sign-ins, changes, job starts, token use; newest first.
    `search` matches the target's label."""

    serializer_class = AuditSerializer
    filterset_class = AuditFilter
    search_fields = ["target_label"]
    ordering_fields = ["created_at", "action", "actor_name"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[AuditEntry]:
        try:
            access.require_admin(self.request.user)
        except PermissionDenied:
            if getattr(self, "swagger_fake_view", False):
                return AuditEntry.objects.none()
            raise
        return AuditEntry.objects.all()
