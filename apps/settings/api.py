"""API of an organization's settings: customers, secrets, API keys,
environments and the audit log."""

from __future__ import annotations

import re

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.accounts.roles import Resource
from apps.core.api import TenantAPIView, validated
from apps.core.errors import InvalidInput
from apps.core.pagination import page_body, paginate_newest_first, parse_limit
from apps.core.serializers import (
    JSONObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
)
from apps.settings import selectors, services
from apps.settings.models import ApiKey, AuditEvent, Customer

EXTERNAL_ID_RE = re.compile(r"^[^\s/\x00-\x1f]{1,255}$")


def _external_id(value: str) -> str:
    if not EXTERNAL_ID_RE.match(value):
        raise serializers.ValidationError("Use 1–255 characters without spaces or '/'.")
    return value


# --- Customers -------------------------------------------------------------------


class CustomerOut(serializers.Serializer):
    id = serializers.UUIDField()
    external_id = serializers.CharField()
    name = serializers.CharField()
    tier = serializers.CharField()
    region = serializers.CharField()
    metadata = serializers.JSONField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CustomerCreateIn(StrictSerializer):
    external_id = StrictCharField(max_length=255, validators=[_external_id])
    name = StrictCharField(max_length=255)
    tier = StrictCharField(max_length=64, required=False, default="standard")
    region = StrictChoiceField(choices=Customer.Region.values, required=False, default="us")
    metadata = JSONObjectField(required=False, default=dict)

    def validate_tier(self, value: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9_-]*$", value):
            raise serializers.ValidationError("Use lowercase letters, digits, '-' or '_'.")
        return value


class CustomerUpdateIn(StrictSerializer):
    name = StrictCharField(max_length=255, required=False)
    tier = StrictCharField(max_length=64, required=False)
    region = StrictChoiceField(choices=Customer.Region.values, required=False)
    metadata = JSONObjectField(required=False)

    validate_tier = CustomerCreateIn.validate_tier


class CustomerListView(TenantAPIView):
    permission_resource = Resource.CUSTOMERS

    @extend_schema(
        summary="List customers",
        parameters=[
            OpenApiParameter("search", str),
            OpenApiParameter("tier", str),
            OpenApiParameter("region", str),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=CustomerOut(many=True),
    )
    def get(self, request):
        params = request.query_params
        queryset = selectors.customer_list(
            search=params.get("search", ""), tier=params.get("tier", ""), region=params.get("region", "")
        )
        page = paginate_newest_first(queryset, cursor=params.get("cursor"), limit=parse_limit(params.get("limit")))
        return Response(page_body(page, CustomerOut(page.items, many=True).data))

    @extend_schema(summary="Create a customer", request=CustomerCreateIn, responses={201: CustomerOut})
    def post(self, request):
        data = validated(CustomerCreateIn, request.data)
        customer = services.customer_create(actor=self.principal, **data)
        return Response(CustomerOut(customer).data, status=status.HTTP_201_CREATED)


class CustomerDetailView(TenantAPIView):
    permission_resource = Resource.CUSTOMERS

    @extend_schema(summary="Get a customer", responses=CustomerOut)
    def get(self, request, external_id: str):
        return Response(CustomerOut(selectors.customer_get(external_id=external_id)).data)

    @extend_schema(summary="Update a customer", request=CustomerUpdateIn, responses=CustomerOut)
    def patch(self, request, external_id: str):
        data = validated(CustomerUpdateIn, request.data)
        customer = services.customer_update(actor=self.principal, external_id=external_id, **data)
        return Response(CustomerOut(customer).data)

    @extend_schema(summary="Delete a customer", responses={204: None})
    def delete(self, request, external_id: str):
        services.customer_delete(actor=self.principal, external_id=external_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Secrets --------------------------------------------------------------------


class SecretOut(serializers.Serializer):
    """A secret's metadata. The value is write-only and never returned."""

    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    updated_by = serializers.CharField()


class SecretCreateIn(StrictSerializer):
    name = StrictCharField(max_length=128, trim_whitespace=False)
    value = StrictCharField(trim_whitespace=False, write_only=True)


class SecretPutIn(StrictSerializer):
    value = StrictCharField(trim_whitespace=False, write_only=True)


class SecretListView(TenantAPIView):
    permission_resource = Resource.SECRETS

    @extend_schema(summary="List secrets (names only)", responses=SecretOut(many=True))
    def get(self, request):
        secrets = list(selectors.secret_list())
        return Response({"results": SecretOut(secrets, many=True).data, "next_cursor": None, "has_more": False})

    @extend_schema(summary="Create a secret", request=SecretCreateIn, responses={201: SecretOut})
    def post(self, request):
        data = validated(SecretCreateIn, request.data)
        secret = services.secret_create(actor=self.principal, name=data["name"], value=data["value"])
        return Response(SecretOut(secret).data, status=status.HTTP_201_CREATED)


class SecretDetailView(TenantAPIView):
    permission_resource = Resource.SECRETS
    # PUT creates or replaces; every role that may edit secrets may create them.
    permission_actions = {"PUT": "edit"}

    @extend_schema(summary="Get a secret's metadata", responses=SecretOut)
    def get(self, request, name: str):
        return Response(SecretOut(selectors.secret_get(name=name)).data)

    @extend_schema(summary="Create or replace a secret's value", request=SecretPutIn, responses=SecretOut)
    def put(self, request, name: str):
        data = validated(SecretPutIn, request.data)
        secret, created = services.secret_put(actor=self.principal, name=name, value=data["value"])
        return Response(SecretOut(secret).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(summary="Delete a secret", responses={204: None})
    def delete(self, request, name: str):
        services.secret_delete(actor=self.principal, name=name)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- API keys -------------------------------------------------------------------


class ApiKeyOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.CharField()
    role = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiKeyCreatedOut(ApiKeyOut):
    key = serializers.CharField(help_text="The key itself. Shown this once; store it now.")


class ApiKeyCreateIn(StrictSerializer):
    name = StrictCharField(max_length=100)
    kind = StrictChoiceField(choices=ApiKey.Kind.values)
    role = StrictCharField(max_length=64, required=False)


class ApiKeyListView(TenantAPIView):
    permission_resource = Resource.API_KEYS

    @extend_schema(
        summary="List API keys (prefixes only)",
        parameters=[OpenApiParameter("include_revoked", bool)],
        responses=ApiKeyOut(many=True),
    )
    def get(self, request):
        include_revoked = request.query_params.get("include_revoked") in ("1", "true", "yes")
        keys = list(selectors.api_key_list(include_revoked=include_revoked))
        return Response({"results": ApiKeyOut(keys, many=True).data, "next_cursor": None, "has_more": False})

    @extend_schema(summary="Create an API key", request=ApiKeyCreateIn, responses={201: ApiKeyCreatedOut})
    def post(self, request):
        data = validated(ApiKeyCreateIn, request.data)
        key, raw = services.api_key_create(actor=self.principal, **data)
        body = dict(ApiKeyOut(key).data)
        body["key"] = raw
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class ApiKeyDetailView(TenantAPIView):
    permission_resource = Resource.API_KEYS

    @extend_schema(summary="Revoke an API key", responses={204: None})
    def delete(self, request, key_id: str):
        services.api_key_revoke(actor=self.principal, key_id=key_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Environments ------------------------------------------------------------------


class EnvironmentOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    is_production = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class EnvironmentCreateIn(StrictSerializer):
    slug = serializers.SlugField(max_length=50)
    name = StrictCharField(max_length=100, required=False, default="")
    is_production = StrictBooleanField(required=False, default=False)


class EnvironmentListView(TenantAPIView):
    permission_resource = Resource.ENVIRONMENTS

    @extend_schema(summary="List environments", responses=EnvironmentOut(many=True))
    def get(self, request):
        environments = selectors.environment_list()
        return Response(
            {"results": EnvironmentOut(environments, many=True).data, "next_cursor": None, "has_more": False}
        )

    @extend_schema(summary="Create an environment", request=EnvironmentCreateIn, responses={201: EnvironmentOut})
    def post(self, request):
        data = validated(EnvironmentCreateIn, request.data)
        environment = services.environment_create(actor=self.principal, **data)
        return Response(EnvironmentOut(environment).data, status=status.HTTP_201_CREATED)


# --- Audit log ---------------------------------------------------------------------


class AuditEventOut(serializers.Serializer):
    id = serializers.UUIDField()
    timestamp = serializers.DateTimeField(source="created_at")
    actor_type = serializers.CharField()
    actor_id = serializers.CharField()
    actor = serializers.CharField(source="actor_label")
    action = serializers.CharField()
    resource_type = serializers.CharField()
    resource_id = serializers.CharField()
    outcome = serializers.CharField()
    ip = serializers.CharField(allow_null=True)
    changes = serializers.JSONField()


def _parse_time(name: str, raw: str | None):
    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None:
        raise InvalidInput.for_field(name, "Use an ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z.")
    return value


class AuditLogView(TenantAPIView):
    permission_resource = Resource.AUDIT_LOG

    @extend_schema(
        summary="The audit log, newest first",
        parameters=[
            OpenApiParameter("actor", str, description="A user's email or id, or an API key's id"),
            OpenApiParameter("action", str),
            OpenApiParameter("resource_type", str),
            OpenApiParameter("outcome", str, enum=AuditEvent.Outcome.values),
            OpenApiParameter("since", str),
            OpenApiParameter("until", str),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=AuditEventOut(many=True),
    )
    def get(self, request):
        params = request.query_params
        outcome = params.get("outcome", "")
        if outcome and outcome not in AuditEvent.Outcome.values:
            raise InvalidInput.for_field("outcome", f"Must be one of {', '.join(AuditEvent.Outcome.values)}.")
        page = selectors.audit_event_page(
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit")),
            actor=params.get("actor", ""),
            action=params.get("action", ""),
            resource_type=params.get("resource_type", ""),
            outcome=outcome,
            since=_parse_time("since", params.get("since")),
            until=_parse_time("until", params.get("until")),
        )
        return Response(page_body(page, AuditEventOut(page.items, many=True).data))
