"""API of an organization's settings: customers, secrets, API keys,
environments and the audit log."""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.accounts.access import principal_can_object, principal_filter_queryset, principal_require_object
from apps.accounts.roles import Resource
from apps.core.api import TenantAPIView, choice_param, time_param, validated
from apps.core.pagination import page_body, paginate_newest_first, parse_limit
from apps.core.serializers import (
    JSONObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
)
from apps.settings import selectors, services
from apps.settings.exceptions import CustomerNotFound
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
        queryset = principal_filter_queryset(self.principal, Resource.CUSTOMERS, "view", queryset)
        page = paginate_newest_first(queryset, cursor=params.get("cursor"), limit=parse_limit(params.get("limit")))
        return Response(page_body(page, CustomerOut(page.items, many=True).data))

    @extend_schema(summary="Create a customer", request=CustomerCreateIn, responses={201: CustomerOut})
    def post(self, request):
        data = validated(CustomerCreateIn, request.data)
        customer = services.customer_create(actor=self.principal, **data)
        return Response(CustomerOut(customer).data, status=status.HTTP_201_CREATED)


class CustomerDetailView(TenantAPIView):
    permission_resource = Resource.CUSTOMERS

    def _customer(self, external_id: str, action: str):
        """The customer, if this principal's role reaches it (roles can be
        narrowed to chosen customers): unseen ones are 404, others 403."""
        customer = selectors.customer_get(external_id=external_id)
        if not principal_can_object(self.principal, Resource.CUSTOMERS, "view", customer):
            raise CustomerNotFound(f"No customer with external_id {external_id!r}.")
        principal_require_object(self.principal, Resource.CUSTOMERS, action, customer)
        return customer

    @extend_schema(summary="Get a customer", responses=CustomerOut)
    def get(self, request, external_id: str):
        return Response(CustomerOut(self._customer(external_id, "view")).data)

    @extend_schema(summary="Update a customer", request=CustomerUpdateIn, responses=CustomerOut)
    def patch(self, request, external_id: str):
        data = validated(CustomerUpdateIn, request.data)
        self._customer(external_id, "edit")
        customer = services.customer_update(actor=self.principal, external_id=external_id, **data)
        return Response(CustomerOut(customer).data)

    @extend_schema(summary="Delete a customer", responses={204: None})
    def delete(self, request, external_id: str):
        self._customer(external_id, "delete")
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
        outcome = choice_param(params, "outcome", AuditEvent.Outcome.values)
        page = selectors.audit_event_page(
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit")),
            actor=params.get("actor", ""),
            action=params.get("action", ""),
            resource_type=params.get("resource_type", ""),
            outcome=outcome,
            since=time_param("since", params.get("since")),
            until=time_param("until", params.get("until")),
        )
        return Response(page_body(page, AuditEventOut(page.items, many=True).data))


class EnvironmentUpdateIn(StrictSerializer):
    name = StrictCharField(max_length=100, required=False)
    is_production = StrictBooleanField(required=False)


class EnvironmentDetailView(TenantAPIView):
    permission_resource = Resource.ENVIRONMENTS

    @extend_schema(summary="Get an environment", responses=EnvironmentOut)
    def get(self, request, slug: str):
        return Response(EnvironmentOut(selectors.environment_get(slug=slug)).data)

    @extend_schema(
        summary="Rename an environment or flag it production", request=EnvironmentUpdateIn, responses=EnvironmentOut
    )
    def patch(self, request, slug: str):
        data = validated(EnvironmentUpdateIn, request.data)
        return Response(EnvironmentOut(services.environment_update(actor=self.principal, slug=slug, **data)).data)

    @extend_schema(summary="Delete a custom environment", responses={204: None})
    def delete(self, request, slug: str):
        services.environment_delete(actor=self.principal, slug=slug)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Roles --------------------------------------------------------------------------------------


def role_body(*, slug: str, name: str, description: str, system: bool, permissions, scopes: dict) -> dict:
    return {
        "slug": slug,
        "name": name,
        "description": description,
        "system": system,
        "permissions": sorted(permissions),
        "scopes": scopes,
    }


def _role_out(principal, role) -> dict:
    from apps.accounts.access import role_scope_ids

    scopes = {r: role_scope_ids(principal.organization, role.slug, r) for r in role.scoped_resources}
    return role_body(
        slug=role.slug,
        name=role.name,
        description=role.description,
        system=False,
        permissions=role.permissions,
        scopes=scopes,
    )


def _system_roles_out() -> list[dict]:
    from apps.accounts.roles import SYSTEM_ROLE_PERMISSIONS, SystemRole

    return [
        role_body(
            slug=r.value,
            name=r.label,
            description="System role",
            system=True,
            permissions=SYSTEM_ROLE_PERMISSIONS[r.value],
            scopes={},
        )
        for r in SystemRole
    ]


class RoleOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    system = serializers.BooleanField()
    permissions = serializers.ListField(child=serializers.CharField())
    scopes = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class RoleCreateIn(StrictSerializer):
    slug = StrictCharField(max_length=64)
    name = StrictCharField(max_length=100)
    description = StrictCharField(max_length=255, required=False, allow_blank=True, default="")
    permissions = serializers.ListField(child=StrictCharField(max_length=64), max_length=500)
    scopes = serializers.DictField(
        child=serializers.ListField(child=StrictCharField(max_length=255), max_length=1000),
        required=False,
        default=dict,
    )


class RoleUpdateIn(StrictSerializer):
    name = StrictCharField(max_length=100, required=False)
    description = StrictCharField(max_length=255, required=False, allow_blank=True)
    permissions = serializers.ListField(child=StrictCharField(max_length=64), max_length=500, required=False)
    scopes = serializers.DictField(
        child=serializers.ListField(child=StrictCharField(max_length=255), max_length=1000), required=False
    )


class RoleListView(TenantAPIView):
    permission_resource = Resource.ROLES

    @extend_schema(summary="List roles: the six system roles, then custom ones", responses=RoleOut(many=True))
    def get(self, request):
        roles = _system_roles_out() + [_role_out(self.principal, r) for r in selectors.custom_role_list()]
        return Response({"results": roles, "next_cursor": None, "has_more": False})

    @extend_schema(summary="Create a custom role", request=RoleCreateIn, responses={201: RoleOut})
    def post(self, request):
        data = validated(RoleCreateIn, request.data)
        role = services.role_create(actor=self.principal, **data)
        return Response(_role_out(self.principal, role), status=status.HTTP_201_CREATED)


class RoleDetailView(TenantAPIView):
    permission_resource = Resource.ROLES

    @extend_schema(summary="Get a role", responses=RoleOut)
    def get(self, request, slug: str):
        for role in _system_roles_out():
            if role["slug"] == slug:
                return Response(role)
        return Response(_role_out(self.principal, selectors.custom_role_get(slug=slug)))

    @extend_schema(summary="Change a custom role (system roles cannot change)", request=RoleUpdateIn, responses=RoleOut)
    def patch(self, request, slug: str):
        data = validated(RoleUpdateIn, request.data)
        role = services.role_update(actor=self.principal, slug=slug, **data)
        return Response(_role_out(self.principal, role))

    @extend_schema(summary="Delete a custom role nobody holds", responses={204: None})
    def delete(self, request, slug: str):
        services.role_delete(actor=self.principal, slug=slug)
        return Response(status=status.HTTP_204_NO_CONTENT)
