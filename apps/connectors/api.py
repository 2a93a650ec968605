"""API of the connector layer: connectors, the catalogue, OpenAPI import,
connections, OAuth (authorize, callback, apps) and call traces.

Credentials are write-only: no serializer here has a field for them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django.http import HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import SessionMemberAuthentication
from apps.accounts.roles import Resource, SystemRole
from apps.connectors import oauth_binding, selectors, services
from apps.connectors.definition import definition_schema
from apps.connectors.exceptions import ConnectorDisabled, ConnectorNotFound, NotAnOAuthConnector
from apps.connectors.models import CallTrace, Connection, Connector
from apps.connectors.parsers import OPENAPI_PARSERS
from apps.connectors.services.calls import CONSOLE_SECONDS
from apps.connectors.services.oauth_apps import default_callback_url
from apps.core.api import TenantAPIView, choice_param, time_param, validated
from apps.core.errors import InvalidInput, NotFound, PermissionDenied
from apps.core.pagination import page_body, paginate_newest_first, parse_limit
from apps.core.serializers import (
    JSONObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictSerializer,
)
from apps.core.tenancy import organization_context


def _bool_param(name: str, raw: str | None) -> bool | None:
    if raw in (None, ""):
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise InvalidInput.for_field(name, "Use true or false.")


def _optional_body(request) -> Any:
    """The parsed body, or {} when there is none (POSTs whose body is optional)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return request.data if length else {}


def _body_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidInput("The request body must be a JSON object.", code="invalid_body")
    return dict(data)


# --- Connectors ----------------------------------------------------------------


class ConnectorOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())
    auth_type = serializers.CharField()
    action_count = serializers.IntegerField()
    source = serializers.CharField()
    catalog_slug = serializers.CharField()
    version = serializers.IntegerField(source="current_version")
    content_hash = serializers.CharField()
    enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    updated_by = serializers.CharField()


class ConnectorDetailOut(ConnectorOut):
    definition = serializers.JSONField()
    actions = serializers.SerializerMethodField()
    connect = serializers.SerializerMethodField()

    def get_actions(self, connector) -> list[dict]:
        return selectors.actions_of(connector.definition)

    def get_connect(self, connector) -> dict:
        return selectors.connector_facts(connector.definition)


def _detail(connector: Connector) -> dict[str, Any]:
    return ConnectorDetailOut(connector).data


class ConnectorListView(TenantAPIView):
    permission_resource = Resource.CONNECTORS

    @extend_schema(
        summary="List the organization's connectors",
        parameters=[
            OpenApiParameter("search", str),
            OpenApiParameter("source", str, enum=Connector.Source.values),
            OpenApiParameter("enabled", bool),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=ConnectorOut(many=True),
    )
    def get(self, request):
        params = request.query_params
        source = choice_param(params, "source", Connector.Source.values)
        queryset = selectors.connector_list(
            search=params.get("search", ""), source=source, enabled=_bool_param("enabled", params.get("enabled"))
        )
        page = paginate_newest_first(queryset, cursor=params.get("cursor"), limit=parse_limit(params.get("limit")))
        return Response(page_body(page, ConnectorOut(page.items, many=True).data))

    @extend_schema(
        summary="Create a connector from a definition",
        description="The body is a connector definition (see GET /api/v1/connectors/schema). "
        "Invalid definitions get 400 with every problem's JSON path in details.problems.",
        request=OpenApiTypes.OBJECT,
        responses={201: ConnectorDetailOut},
    )
    def post(self, request):
        connector = services.connector_create(actor=self.principal, definition=_body_object(request.data))
        return Response(_detail(connector), status=status.HTTP_201_CREATED)


class ConnectorSchemaView(TenantAPIView):
    permission_resource = Resource.CONNECTORS

    @extend_schema(summary="The JSON Schema of connector definitions", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(definition_schema())


class ConnectorDetailView(TenantAPIView):
    permission_resource = Resource.CONNECTORS

    @extend_schema(summary="Get a connector with its definition", responses=ConnectorDetailOut)
    def get(self, request, slug: str):
        return Response(_detail(selectors.connector_get(slug=slug)))

    @extend_schema(
        summary="Change a connector (JSON merge patch of the definition)",
        description="The body is merged into the definition (RFC 7386: objects merge, null removes a key); "
        "`enabled` switches the connector on or off. A changed definition becomes a new version.",
        request=OpenApiTypes.OBJECT,
        responses=ConnectorDetailOut,
    )
    def patch(self, request, slug: str):
        body = _body_object(request.data)
        enabled = body.pop("enabled", None)
        if enabled is not None and not isinstance(enabled, bool):
            raise InvalidInput.for_field("enabled", "Must be true or false.")
        if not body and enabled is None:
            raise InvalidInput("Send the definition fields to change, or enabled.", code="empty_patch")
        connector = services.connector_update(
            actor=self.principal, slug=slug, patch=body or None, enabled=enabled, note="Changed through the API"
        )
        return Response(_detail(connector))

    @extend_schema(
        summary="Replace a connector's definition",
        request=OpenApiTypes.OBJECT,
        responses=ConnectorDetailOut,
    )
    def put(self, request, slug: str):
        connector = services.connector_update(
            actor=self.principal, slug=slug, definition=_body_object(request.data), note="Replaced through the API"
        )
        return Response(_detail(connector))

    @extend_schema(summary="Delete a connector", responses={204: None})
    def delete(self, request, slug: str):
        services.connector_delete(actor=self.principal, slug=slug)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectorVersionOut(serializers.Serializer):
    version = serializers.IntegerField(source="number")
    content_hash = serializers.CharField()
    note = serializers.CharField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()


class ConnectorVersionDetailOut(ConnectorVersionOut):
    definition = serializers.JSONField()


class ConnectorVersionListView(TenantAPIView):
    permission_resource = Resource.CONNECTORS

    @extend_schema(summary="A connector's versions, newest first", responses=ConnectorVersionOut(many=True))
    def get(self, request, slug: str):
        connector = selectors.connector_summary_get(slug=slug)
        versions = list(selectors.connector_versions(connector=connector)[:500])
        return Response(
            {"results": ConnectorVersionOut(versions, many=True).data, "next_cursor": None, "has_more": False}
        )


class ConnectorVersionDetailView(TenantAPIView):
    permission_resource = Resource.CONNECTORS

    @extend_schema(summary="One version of a connector, with its definition", responses=ConnectorVersionDetailOut)
    def get(self, request, slug: str, number: int):
        connector = selectors.connector_summary_get(slug=slug)
        return Response(
            ConnectorVersionDetailOut(selectors.connector_version_get(connector=connector, number=number)).data
        )


class ImportOpenAPIIn(StrictSerializer):
    document = serializers.JSONField()
    slug = StrictCharField(max_length=63, required=False)
    name = StrictCharField(max_length=120, required=False)
    base_url = StrictCharField(max_length=2048, required=False)
    replace = StrictBooleanField(required=False, default=False)

    def validate_document(self, value):
        if not isinstance(value, (dict, str)):
            raise serializers.ValidationError("Must be an OpenAPI document: a JSON object, or JSON/YAML text.")
        return value


class ConnectorImportOpenAPIView(TenantAPIView):
    permission_resource = Resource.CONNECTORS
    permission_action = "create"
    parser_classes = OPENAPI_PARSERS

    @extend_schema(
        summary="Create a connector from an OpenAPI 3 document",
        description='Send `{"document": {...} or "yaml text", "slug"?, "name"?, "base_url"?, '
        '"replace"?}` as JSON, or the document itself as JSON or YAML (application/yaml, text/yaml) with '
        "slug, name, base_url and replace as query parameters. Large documents may be sent with "
        "Content-Encoding: gzip. One action per operation; `replace: true` makes a re-import a new version.",
        parameters=[
            OpenApiParameter("slug", str),
            OpenApiParameter("name", str),
            OpenApiParameter("base_url", str),
            OpenApiParameter("replace", bool),
        ],
        request=OpenApiTypes.OBJECT,
        responses={201: ConnectorDetailOut, 200: ConnectorDetailOut},
    )
    def post(self, request):
        data = request.data
        params = request.query_params
        if isinstance(data, Mapping) and "document" in data and "openapi" not in data and "swagger" not in data:
            options = validated(ImportOpenAPIIn, data)
            document = options.pop("document")
        else:
            if not isinstance(data, (str, Mapping)) or not data:
                raise InvalidInput('Send an OpenAPI document, or {"document": ...}.', code="invalid_body")
            document = data
            options = {
                "slug": params.get("slug") or None,
                "name": params.get("name") or None,
                "base_url": params.get("base_url") or None,
                "replace": bool(_bool_param("replace", params.get("replace"))),
            }
        connector, created = services.connector_import_openapi(actor=self.principal, document=document, **options)
        return Response(_detail(connector), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ActionRunIn(StrictSerializer):
    params = JSONObjectField(required=False, default=dict)


class ConnectorActionRunView(TenantAPIView):
    """Run one action now with a connection (the dashboard's and SDKs' console)."""

    permission_resource = Resource.CONNECTORS
    permission_action = "run"

    @extend_schema(
        summary="Run a connector action with a customer's connection",
        description="Uses the connection of the customer in x-fastn-account-tenant-id (or the organization's "
        "own with ?scope=organization). Answers 200 with ok true and the data, or ok false and the error a "
        "workflow would get. Writes a trace.",
        parameters=[OpenApiParameter("scope", str, enum=["customer", "organization"])],
        request=ActionRunIn,
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request, slug: str, action: str):
        data = validated(ActionRunIn, _optional_body(request))
        customer = _connection_scope(self, request)
        try:
            result = services.connector_call(
                connector_slug=slug,
                action=action,
                params=data["params"],
                customer_id=customer.pk if customer else None,
                deadline=time.monotonic() + CONSOLE_SECONDS,
                origin=CallTrace.Origin.CONSOLE,
            )
        except services.ConnectorRunError as exc:
            if exc.code == "unknown_connector":
                raise ConnectorNotFound(exc.message) from None
            if exc.code == "connector_disabled":
                raise ConnectorDisabled(exc.message) from None
            if exc.code == "unknown_action":
                raise NotFound(exc.message, code="unknown_action") from None
            return Response(
                {"ok": False, "error": exc.as_error_dict(), "trace_id": str(exc.trace_id) if exc.trace_id else None}
            )
        return Response(
            {
                "ok": True,
                "data": result.value,
                "status": result.status,
                "pages": result.pages,
                "truncated": result.truncated,
                "connector_version": result.connector_version,
                "trace_id": str(result.trace_id) if result.trace_id else None,
            }
        )


# --- Catalogue ------------------------------------------------------------------------


class CatalogEntryOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())
    docs_url = serializers.CharField(allow_null=True)
    auth_type = serializers.CharField()
    action_count = serializers.IntegerField()
    version = serializers.CharField()
    installed = serializers.BooleanField()
    installed_version = serializers.IntegerField(allow_null=True)


class CatalogListView(TenantAPIView):
    permission_resource = Resource.CONNECTORS

    @extend_schema(
        summary="The catalogue of ready-made connectors",
        parameters=[OpenApiParameter("search", str), OpenApiParameter("category", str)],
        responses=CatalogEntryOut(many=True),
    )
    def get(self, request):
        entries = selectors.catalog_entries(
            search=request.query_params.get("search", ""), category=request.query_params.get("category", "")
        )
        return Response(
            {
                "results": CatalogEntryOut(entries, many=True).data,
                "categories": selectors.catalog_categories(),
                "next_cursor": None,
                "has_more": False,
            }
        )


class CatalogDetailView(TenantAPIView):
    permission_resource = Resource.CONNECTORS

    @extend_schema(summary="One catalogue connector with its definition", responses=OpenApiTypes.OBJECT)
    def get(self, request, slug: str):
        definition = selectors.catalog_entry(slug=slug)
        installed = Connector.objects.filter(slug=slug).values_list("current_version", flat=True).first()
        return Response(
            {
                "slug": slug,
                "name": definition["name"],
                "installed": installed is not None,
                "installed_version": installed,
                "actions": selectors.actions_of(definition),
                "connect": selectors.connector_facts(definition),
                "definition": definition,
            }
        )


class CatalogInstallIn(StrictSerializer):
    upgrade = StrictBooleanField(required=False, default=False)


class CatalogInstallView(TenantAPIView):
    permission_resource = Resource.CONNECTORS
    permission_action = "create"

    @extend_schema(
        summary="Install a catalogue connector into the organization",
        description="201 with the new connector. Installed already: 409, unless `upgrade: true`, which takes "
        "the catalogue's current definition as a new version (200).",
        request=CatalogInstallIn,
        responses={201: ConnectorDetailOut, 200: ConnectorDetailOut},
    )
    def post(self, request, slug: str):
        data = validated(CatalogInstallIn, _optional_body(request))
        connector, created = services.connector_install_from_catalog(
            actor=self.principal, catalog_slug=slug, upgrade=data["upgrade"]
        )
        return Response(_detail(connector), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- Connections ------------------------------------------------------------------------


def _connection_scope(view: TenantAPIView, request):
    """The customer a connection call is about; None for the organization's
    own connections (`?scope=organization`)."""
    scope = request.query_params.get("scope", "") or "customer"
    if scope == "organization":
        if view.customer_external_id(request):
            raise InvalidInput.for_field(
                "scope", "Organization connections have no customer: drop x-fastn-account-tenant-id."
            )
        if view.principal.role == SystemRole.END_USER:
            raise PermissionDenied("End-user keys act for customers only, not for the organization's own connections.")
        return None
    if scope != "customer":
        raise InvalidInput.for_field("scope", "Must be customer (default) or organization.")
    return view.customer(request)


class ConnectionOut(serializers.Serializer):
    id = serializers.UUIDField()
    connector = serializers.CharField(source="connector.slug")
    customer = serializers.SerializerMethodField()
    scope = serializers.SerializerMethodField()
    status = serializers.CharField()
    auth_type = serializers.CharField(source="connector.auth_type")
    config = serializers.JSONField()
    account_key = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    token_expires_at = serializers.DateTimeField(allow_null=True)
    last_refreshed_at = serializers.DateTimeField(allow_null=True)
    last_verified_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField()

    def get_customer(self, connection) -> str | None:
        return connection.customer.external_id if connection.customer_id else None

    def get_scope(self, connection) -> str:
        return "customer" if connection.customer_id else "organization"


class ConnectionCreateIn(StrictSerializer):
    connector = StrictCharField(max_length=63)
    credentials = JSONObjectField(required=False, default=dict)
    config = JSONObjectField(required=False, default=dict)
    verify = StrictBooleanField(required=False, allow_null=True, default=None)
    # The provider's account id (Slack team, GitHub owner…): routes app events here.
    account_key = StrictCharField(max_length=255, required=False, allow_blank=True, default=None, allow_null=True)


class ConnectionUpdateIn(StrictSerializer):
    credentials = JSONObjectField(required=False)
    config = JSONObjectField(required=False)
    account_key = StrictCharField(max_length=255, required=False, allow_blank=True)
    verify = StrictBooleanField(required=False, allow_null=True, default=None)


SCOPE_PARAMETERS = [
    OpenApiParameter(
        "scope", str, enum=["customer", "organization"], description="organization: the organization's own connections"
    )
]


class ConnectionListView(TenantAPIView):
    permission_resource = Resource.CONNECTIONS

    @extend_schema(
        summary="A customer's connections (x-fastn-account-tenant-id)",
        parameters=[
            *SCOPE_PARAMETERS,
            OpenApiParameter("connector", str),
            OpenApiParameter("status", str, enum=Connection.Status.values),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=ConnectionOut(many=True),
    )
    def get(self, request):
        customer = _connection_scope(self, request)
        params = request.query_params
        wanted = choice_param(params, "status", Connection.Status.values)
        queryset = selectors.connection_list_for_customer(
            customer=customer, connector=params.get("connector", ""), status=wanted
        )
        page = paginate_newest_first(queryset, cursor=params.get("cursor"), limit=parse_limit(params.get("limit")))
        return Response(page_body(page, ConnectionOut(page.items, many=True).data))

    @extend_schema(
        summary="Connect a customer with credentials",
        description="`credentials` by auth type: {api_key}, {token}, {username, password}, the fields of the "
        "connector's credentials_schema, or for OAuth 2.0 tokens obtained elsewhere {access_token, "
        "refresh_token?, expires_at?} (client-credentials connectors: {client_id, client_secret} or the OAuth "
        "app). Unless verify is false, the connector's verify action checks them first: 400 "
        "credentials_rejected with the provider's message when they are wrong. Credentials are never returned.",
        parameters=SCOPE_PARAMETERS,
        request=ConnectionCreateIn,
        responses={201: ConnectionOut},
    )
    def post(self, request):
        data = validated(ConnectionCreateIn, request.data)
        customer = _connection_scope(self, request)
        connection = services.connection_create(
            actor=self.principal,
            connector_slug=data["connector"],
            customer=customer,
            credentials=data["credentials"],
            config=data["config"],
            verify=data["verify"],
            account_key=data["account_key"],
        )
        connection = selectors.connection_get_for_customer(connection_id=connection.pk, customer=customer)
        return Response(ConnectionOut(connection).data, status=status.HTTP_201_CREATED)


class ConnectionDetailView(TenantAPIView):
    permission_resource = Resource.CONNECTIONS

    def _get(self, request, connection_id: str) -> Connection:
        return selectors.connection_get_for_customer(
            connection_id=connection_id, customer=_connection_scope(self, request)
        )

    @extend_schema(
        summary="Get a connection (never its credentials)", parameters=SCOPE_PARAMETERS, responses=ConnectionOut
    )
    def get(self, request, connection_id: str):
        return Response(ConnectionOut(self._get(request, connection_id)).data)

    @extend_schema(
        summary="Reconnect with new credentials, or change settings",
        description="New credentials are checked like on create and make the connection connected again; "
        "`config` is merged (null removes a setting).",
        parameters=SCOPE_PARAMETERS,
        request=ConnectionUpdateIn,
        responses=ConnectionOut,
    )
    def patch(self, request, connection_id: str):
        data = validated(ConnectionUpdateIn, request.data)
        connection = self._get(request, connection_id)
        if "credentials" not in data and "config" not in data and "account_key" not in data:
            raise InvalidInput("Send credentials, config or account_key to change.", code="empty_patch")
        services.connection_update(
            actor=self.principal,
            connection=connection,
            credentials=data.get("credentials"),
            config=data.get("config"),
            verify=data.get("verify"),
            account_key=data.get("account_key"),
        )
        return Response(ConnectionOut(self._get(request, connection_id)).data)

    @extend_schema(
        summary="Delete a connection (revoking its token at the provider where possible)",
        parameters=SCOPE_PARAMETERS,
        responses={204: None},
    )
    def delete(self, request, connection_id: str):
        services.connection_delete(actor=self.principal, connection=self._get(request, connection_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConnectionVerifyView(TenantAPIView):
    permission_resource = Resource.CONNECTIONS
    permission_action = "edit"

    @extend_schema(
        summary="Check a connection's credentials with the provider now",
        parameters=SCOPE_PARAMETERS,
        request=None,
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request, connection_id: str):
        connection = selectors.connection_get_for_customer(
            connection_id=connection_id, customer=_connection_scope(self, request)
        )
        outcome = services.connection_verify(actor=self.principal, connection=connection)
        connection.refresh_from_db()
        return Response(
            {
                "ok": outcome.ok,
                "message": outcome.message,
                "provider_status": outcome.status,
                "code": outcome.code or None,
                "connection": ConnectionOut(connection).data,
            }
        )


# --- OAuth -------------------------------------------------------------------------------


class OAuthAuthorizeView(TenantAPIView):
    permission_resource = Resource.CONNECTIONS
    permission_action = "create"

    @extend_schema(
        summary="Start connecting a customer with OAuth 2.0",
        description="302 to the link that starts the customer's sign-in, with a signed, single-use, expiring "
        "state and PKCE. The authorisation is bound to the browser that starts it: called with an API key, the "
        "link is a begin link on this host (/api/v1/oauth/begin) that the first browser to open it claims (it "
        "gets a cookie and goes on to the provider; no other browser can open or finish it); called from a "
        "dashboard session, the state is bound to that browser at once. After the customer consents, the "
        "provider returns to /api/v1/oauth/callback, which stores the tokens and sends the browser to "
        "redirect_uri with ?status=connected&connection_id=… (or status=error&error=…). redirect_uri must be "
        "on the organization's allow-list (GET/PUT /api/v1/oauth/redirect-uris) or on this platform's own "
        "origin. `mode=json` answers 200 {authorize_url, expires_at} instead of the redirect. Connection "
        "settings the provider's URLs need (Shopify's shop) go in config.<name> parameters.",
        parameters=[
            OpenApiParameter("customer", str, description="The customer's external_id (or the header)"),
            OpenApiParameter("redirect_uri", str, required=True),
            OpenApiParameter("scopes", str, description="Space- or comma-separated; default the app's or connector's"),
            OpenApiParameter("mode", str, enum=["redirect", "json"]),
            *SCOPE_PARAMETERS,
        ],
        responses={302: None, 200: OpenApiTypes.OBJECT},
    )
    def get(self, request, connector: str):
        params = request.query_params
        named = (params.get("customer") or "").strip()
        header = self.customer_external_id(request)
        if named and header and named != header:
            raise InvalidInput.for_field("customer", "The customer parameter and x-fastn-account-tenant-id differ.")
        if params.get("scope") == "organization":
            customer = _connection_scope(self, request)
        else:
            from apps.settings.selectors import customer_get

            if not (named or header):
                raise InvalidInput.for_field(
                    "customer", "Name the customer to connect (customer=<external_id>), or use scope=organization."
                )
            customer = customer_get(external_id=named or header)
        scopes = params.get("scopes")
        # A dashboard session is the member's own browser: bind the state to it
        # now. Any other caller (a server with an API key) gets a begin link.
        in_browser = isinstance(request.successful_authenticator, SessionMemberAuthentication)
        secret = oauth_binding.browser_secret_or_new(request) if in_browser else None
        url, state = services.oauth_authorize_start(
            actor=self.principal,
            connector_slug=connector,
            customer=customer,
            return_url=params.get("redirect_uri", ""),
            scopes=[s for s in scopes.replace(",", " ").split() if s] if scopes is not None else None,
            config={k[len("config.") :]: v for k, v in params.items() if k.startswith("config.")},
            browser_secret=secret,
        )
        if params.get("mode") == "json":
            response = Response({"authorize_url": url, "expires_at": state.expires_at})
        else:
            response = HttpResponseRedirect(url)
        if secret:
            oauth_binding.remember_browser(response, request, secret)
        response["Cache-Control"] = "no-store"
        return response


class OAuthBeginView(APIView):
    """The begin link of an authorisation started away from the browser (an
    API key): the first browser to open it claims it. Public: the signed
    ticket is the credential, and it works for one browser only."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        auth=[],
        summary="Open an authorisation link (binds it to this browser, then 302 to the provider)",
        parameters=[OpenApiParameter("ticket", str, required=True)],
        responses={302: None, 400: OpenApiResponse(description="Unknown, forged or expired ticket")},
    )
    def get(self, request):
        from apps.connectors.exceptions import InvalidOAuthState

        ticket = request.query_params.get("ticket", "")
        if not ticket:
            raise InvalidOAuthState("The link has no ticket parameter.")
        organization, state_id = services.oauth_begin_resolve(ticket=ticket)
        secret = oauth_binding.browser_secret_or_new(request)
        with organization_context(organization):
            url = services.oauth_state_bind(state_id=state_id, browser_secret=secret)
        response = oauth_binding.remember_browser(HttpResponseRedirect(url), request, secret)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response


class OAuthCallbackView(APIView):
    """The provider's redirect target. Public: the signed state is the credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        auth=[],
        summary="OAuth 2.0 callback (the redirect_uri registered with providers)",
        parameters=[
            OpenApiParameter("state", str, required=True),
            OpenApiParameter("code", str),
            OpenApiParameter("error", str),
        ],
        responses={302: None, 400: OpenApiResponse(description="Unknown, forged or expired state")},
    )
    def get(self, request):
        from apps.connectors.exceptions import InvalidOAuthState

        token = request.query_params.get("state", "")
        if not token:
            raise InvalidOAuthState("The callback has no state parameter.")
        organization, state_id = services.oauth_state_resolve(token=token)
        with organization_context(organization):
            url = services.oauth_callback_complete(
                state_id=state_id,
                params=request.query_params.dict(),
                browser_secret=oauth_binding.browser_secret(request),
            )
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response


class OAuthAppOut(serializers.Serializer):
    connector = serializers.CharField(source="connector_slug")
    client_id = serializers.CharField()
    has_client_secret = serializers.SerializerMethodField()
    redirect_uri = serializers.SerializerMethodField()
    scopes = serializers.JSONField()
    source = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    updated_by = serializers.CharField()

    def get_has_client_secret(self, app) -> bool:
        return bool(app.client_secret_ciphertext)

    def get_redirect_uri(self, app) -> str:
        return app.redirect_uri or default_callback_url()

    def get_source(self, app) -> str:
        return "organization"


class OAuthAppCreateIn(StrictSerializer):
    connector = StrictCharField(max_length=63)
    client_id = StrictCharField(max_length=512)
    client_secret = StrictCharField(
        required=False, default="", allow_blank=True, trim_whitespace=False, write_only=True
    )
    redirect_uri = StrictCharField(max_length=2048, required=False, default="", allow_blank=True)
    scopes = serializers.JSONField(required=False, allow_null=True, default=None)


class OAuthAppUpdateIn(StrictSerializer):
    client_id = StrictCharField(max_length=512, required=False)
    client_secret = StrictCharField(required=False, allow_blank=True, trim_whitespace=False, write_only=True)
    redirect_uri = StrictCharField(max_length=2048, required=False, allow_blank=True)
    scopes = serializers.JSONField(required=False, allow_null=True)


def _check_oauth_connector(slug: str) -> None:
    """An OAuth app is for a connector that uses OAuth (installed or in the catalogue)."""
    connector = Connector.objects.filter(slug=slug).only("auth_type").first()
    if connector is not None:
        auth_type = connector.auth_type
    else:
        from apps.connectors import catalog

        definition = catalog.get_connector(slug)
        if definition is None:
            raise InvalidInput.for_field("connector", f"There is no connector {slug!r} installed or in the catalogue.")
        auth_type = definition["auth"]["type"]
    if auth_type != "oauth2":
        raise NotAnOAuthConnector.for_field("connector", f"The connector {slug!r} does not use OAuth 2.0.")


class OAuthAppListView(TenantAPIView):
    permission_resource = Resource.CONNECTORS

    @extend_schema(
        summary="OAuth apps: the organization's own, and the platform-managed ones",
        responses=OAuthAppOut(many=True),
    )
    def get(self, request):
        return Response(
            {
                "results": OAuthAppOut(selectors.oauth_app_list(), many=True).data,
                "platform": selectors.platform_oauth_app_list(),
                "next_cursor": None,
                "has_more": False,
            }
        )

    @extend_schema(
        summary="Add the organization's OAuth app for a connector",
        request=OAuthAppCreateIn,
        responses={201: OAuthAppOut},
    )
    def post(self, request):
        data = validated(OAuthAppCreateIn, request.data)
        _check_oauth_connector(data["connector"])
        app = services.oauth_app_create(
            actor=self.principal,
            connector_slug=data["connector"],
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            redirect_uri=data["redirect_uri"],
            scopes=data["scopes"],
        )
        return Response(OAuthAppOut(app).data, status=status.HTTP_201_CREATED)


class OAuthAppDetailView(TenantAPIView):
    permission_resource = Resource.CONNECTORS

    @extend_schema(summary="Get an OAuth app (never its secret)", responses=OAuthAppOut)
    def get(self, request, connector: str):
        return Response(OAuthAppOut(selectors.oauth_app_get(connector_slug=connector)).data)

    @extend_schema(summary="Change an OAuth app", request=OAuthAppUpdateIn, responses=OAuthAppOut)
    def patch(self, request, connector: str):
        data = validated(OAuthAppUpdateIn, request.data)
        selectors.oauth_app_get(connector_slug=connector)
        kwargs = {k: data[k] for k in ("client_id", "client_secret", "redirect_uri", "scopes") if k in data}
        app = services.oauth_app_update(actor=self.principal, connector_slug=connector, **kwargs)
        return Response(OAuthAppOut(app).data)

    @extend_schema(summary="Delete an OAuth app", responses={204: None})
    def delete(self, request, connector: str):
        services.oauth_app_delete(actor=self.principal, connector_slug=connector)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OAuthRedirectUrisIn(StrictSerializer):
    redirect_uris = serializers.JSONField()


class OAuthRedirectUrisView(TenantAPIView):
    """The organization's allow-list of OAuth return URLs (the `redirect_uri`
    of /api/v1/oauth/{connector}/authorize)."""

    permission_resource = Resource.CONNECTORS

    def _body(self, uris: list[str]) -> dict[str, Any]:
        from apps.connectors.services.oauth_flow import own_origins

        return {"redirect_uris": uris, "always_allowed": own_origins()}

    @extend_schema(
        summary="Allowed OAuth return URLs",
        description="An authorize call's redirect_uri must match an entry (same scheme, host and port; the path "
        "at or below the entry's; a host may start with *. for every subdomain) or this platform's own origin "
        "(always_allowed).",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        return Response(self._body(selectors.oauth_redirect_uri_list()))

    @extend_schema(
        summary="Replace the allowed OAuth return URLs",
        request=OAuthRedirectUrisIn,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request):
        data = validated(OAuthRedirectUrisIn, request.data)
        uris = services.oauth_redirect_uris_set(actor=self.principal, uris=data["redirect_uris"])
        return Response(self._body(uris))


# --- Traces ----------------------------------------------------------------------------------


class TraceOut(serializers.Serializer):
    id = serializers.UUIDField()
    connector = serializers.CharField(source="connector_slug")
    connector_version = serializers.IntegerField(allow_null=True)
    action = serializers.CharField()
    method = serializers.CharField()
    url = serializers.CharField()
    status = serializers.IntegerField(allow_null=True)
    ok = serializers.BooleanField()
    duration_ms = serializers.IntegerField()
    request_bytes = serializers.IntegerField()
    response_bytes = serializers.IntegerField()
    pages = serializers.IntegerField()
    attempts = serializers.IntegerField()
    error = serializers.CharField()
    error_code = serializers.CharField()
    origin = serializers.CharField()
    execution_id = serializers.UUIDField(allow_null=True)
    connection_id = serializers.UUIDField(allow_null=True)
    customer = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_customer(self, trace) -> str | None:
        return trace.customer.external_id if trace.customer_id and trace.customer else None


class TraceListView(TenantAPIView):
    """Connector call traces. End-user keys see only the calls of the customer
    in x-fastn-account-tenant-id."""

    permission_resource = Resource.CONNECTORS

    @extend_schema(
        summary="Connector call traces, newest first",
        parameters=[
            OpenApiParameter("connector", str),
            OpenApiParameter("execution_id", str),
            OpenApiParameter("customer", str, description="A customer's external_id"),
            OpenApiParameter("ok", bool),
            OpenApiParameter("since", str),
            OpenApiParameter("until", str),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=TraceOut(many=True),
    )
    def get(self, request):
        params = request.query_params
        execution_id = None
        if params.get("execution_id"):
            execution_id = selectors.parse_uuid(params["execution_id"])
            if execution_id is None:
                raise InvalidInput.for_field("execution_id", "Must be a UUID.")
        customer = None
        if self.principal.role == SystemRole.END_USER:
            # End-user keys act for one customer at a time: only that customer's calls.
            customer = self.customer(request)
        elif params.get("customer"):
            from apps.settings.selectors import customer_get

            customer = customer_get(external_id=params["customer"])
        page = selectors.call_trace_page(
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit")),
            connector=params.get("connector", ""),
            execution_id=execution_id,
            customer=customer,
            ok=_bool_param("ok", params.get("ok")),
            since=time_param("since", params.get("since")),
            until=time_param("until", params.get("until")),
        )
        return Response(page_body(page, TraceOut(page.items, many=True).data))
