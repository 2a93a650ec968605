"""The end-user API (`/api/v1/embed/…`): what the widget and the JS clients
call with a customer session token, and nothing else.

Every view sees one customer of one organization (EmbedAPIView); connectors
outside the session's integrations do not exist for it (404 / 403).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.api import validated
from apps.core.errors import InvalidInput
from apps.core.pagination import page_body, paginate_newest_first, parse_limit
from apps.core.serializers import JSONObjectField, StrictCharField, StrictSerializer
from apps.widgets import selectors
from apps.widgets.api.base import EmbedAPIView
from apps.widgets.api.org import page_of
from apps.widgets.exceptions import ConnectionNotFound
from apps.widgets.style import style_resolved

EMBED_AUTH = [{"CustomerSession": []}]


# --- representations ----------------------------------------------------------------------


class EmbedConnectionOut(serializers.Serializer):
    """A connection as its customer sees it: never its credentials."""

    id = serializers.UUIDField()
    connector = serializers.CharField(source="connector.slug")
    status = serializers.CharField()
    auth_type = serializers.CharField(source="connector.auth_type")
    config = serializers.JSONField()
    scopes = serializers.ListField(child=serializers.CharField())
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)
    last_verified_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class FieldOut(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    required = serializers.BooleanField()
    secret = serializers.BooleanField(required=False)


class EmbedIntegrationOut(serializers.Serializer):
    connector = serializers.CharField()
    name = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    icon = serializers.CharField(allow_null=True)
    auth_type = serializers.CharField()
    oauth = serializers.BooleanField(help_text="Connect through the OAuth popup (POST …/oauth/{connector}/authorize)")
    credential_fields = FieldOut(many=True)
    config_fields = FieldOut(many=True)
    connected = serializers.BooleanField()
    connection = EmbedConnectionOut(allow_null=True)


class EmbedCustomerOut(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField()


class EmbedSessionOut(serializers.Serializer):
    expires_at = serializers.DateTimeField()
    integrations = serializers.ListField(child=serializers.CharField(), allow_null=True)
    allowed_origin = serializers.CharField(allow_null=True)


class EmbedConfigOut(serializers.Serializer):
    customer = EmbedCustomerOut()
    title = serializers.CharField()
    subtitle = serializers.CharField(allow_blank=True)
    style = serializers.DictField(child=serializers.CharField())
    integrations = EmbedIntegrationOut(many=True)
    templates = serializers.ListField(child=serializers.DictField())
    session = EmbedSessionOut()


def integration_cards(view: EmbedAPIView) -> list[dict]:
    context = view.embed
    slugs = context.connector_slugs
    cards = selectors.connector_cards(slugs=slugs)
    connections = {c.connector.slug: c for c in selectors.embed_connections(customer=context.customer, slugs=slugs)}
    out = []
    for slug, label in context.integrations:
        card = cards.get(slug)
        if card is None:  # uninstalled or disabled since the widget was set up
            continue
        connection = connections.get(slug)
        out.append(
            {
                "connector": slug,
                "name": card["name"],
                "label": label or card["name"],
                "description": card["description"],
                "icon": card["icon"],
                "auth_type": card["auth_type"],
                "oauth": card["oauth"],
                "credential_fields": card["credential_fields"],
                "config_fields": card["config_fields"],
                "connected": connection is not None and connection.status == "connected",
                "connection": EmbedConnectionOut(connection).data if connection is not None else None,
            }
        )
    return out


# --- config ------------------------------------------------------------------------------------


class EmbedConfigView(EmbedAPIView):
    @extend_schema(
        auth=EMBED_AUTH,
        summary="Everything the widget shows: title, style, integrations with this customer's status, templates",
        responses=EmbedConfigOut,
    )
    def get(self, request):
        context = self.embed
        widget, session, customer = context.widget, context.session, context.customer
        from apps.widgets.api.embed_templates import embed_template_cards

        body = {
            "customer": {"external_id": customer.external_id, "name": customer.name},
            "title": widget.title,
            "subtitle": widget.subtitle,
            "style": style_resolved(widget.style),
            "integrations": integration_cards(self),
            "templates": embed_template_cards(self),
            "session": {
                "expires_at": session.expires_at,
                "integrations": session.integrations,
                "allowed_origin": session.allowed_origin or None,
            },
        }
        return Response(body)


# --- connections ---------------------------------------------------------------------------------


class EmbedConnectionCreateIn(StrictSerializer):
    connector = StrictCharField(max_length=63)
    credentials = JSONObjectField(required=False, default=dict)
    config = JSONObjectField(required=False, default=dict)


class EmbedConnectionUpdateIn(StrictSerializer):
    credentials = JSONObjectField(required=False)
    config = JSONObjectField(required=False)


EmbedConnectionPage = page_of(EmbedConnectionOut, "EmbedConnectionPage")


def _oauth_only(slug: str) -> InvalidInput:
    return InvalidInput(
        f"{slug} connects through its provider's sign-in: open the URL of "
        f"POST /api/v1/embed/oauth/{slug}/authorize in a popup.",
        code="oauth_required",
        details={"connector": slug},
    )


class EmbedConnectionListView(EmbedAPIView):
    @extend_schema(
        auth=EMBED_AUTH,
        operation_id="embed_connections_list",
        summary="This customer's connections",
        parameters=[OpenApiParameter("cursor", str), OpenApiParameter("limit", int)],
        responses=EmbedConnectionPage,
    )
    def get(self, request):
        params = request.query_params
        queryset = selectors.embed_connections(customer=self.embed.customer, slugs=self.embed.connector_slugs)
        page = paginate_newest_first(
            queryset, cursor=params.get("cursor"), limit=parse_limit(params.get("limit"), maximum=100)
        )
        return Response(page_body(page, EmbedConnectionOut(page.items, many=True).data))

    @extend_schema(
        auth=EMBED_AUTH,
        summary="Connect an app with credentials (API key, token, username and password…)",
        description="`credentials` as the integration's credential_fields say: {api_key}, {token}, "
        "{username, password}… They are checked with the provider when the connector can, stored "
        "encrypted and never returned. OAuth apps connect through the popup instead (400 oauth_required).",
        request=EmbedConnectionCreateIn,
        responses={201: EmbedConnectionOut},
    )
    def post(self, request):
        from apps.connectors.selectors import connection_get_for_customer
        from apps.connectors.services import connection_create

        data = validated(EmbedConnectionCreateIn, request.data)
        slug = data["connector"]
        self.require_connector(slug)
        card = selectors.connector_cards(slugs=[slug]).get(slug)
        if card is None:
            raise InvalidInput.for_field("connector", f"The integration {slug!r} is not available.")
        if card["oauth"]:
            raise _oauth_only(slug)
        connection = connection_create(
            actor=self.principal,
            connector_slug=slug,
            customer=self.embed.customer,
            credentials=data["credentials"],
            config=data["config"],
        )
        connection = connection_get_for_customer(connection_id=connection.pk, customer=self.embed.customer)
        return Response(EmbedConnectionOut(connection).data, status=status.HTTP_201_CREATED)


class EmbedConnectionDetailView(EmbedAPIView):
    def _get(self, connection_id: str):
        from apps.connectors.exceptions import ConnectionNotFound as NoConnection
        from apps.connectors.selectors import connection_get_for_customer

        try:
            connection = connection_get_for_customer(connection_id=connection_id, customer=self.embed.customer)
        except NoConnection:
            connection = None
        if connection is None or connection.connector.slug not in self.embed.connector_slugs:
            raise ConnectionNotFound("No connection with this id.")
        return connection

    @extend_schema(
        auth=EMBED_AUTH,
        operation_id="embed_connection_get",
        summary="One of this customer's connections",
        responses=EmbedConnectionOut,
    )
    def get(self, request, connection_id: str):
        return Response(EmbedConnectionOut(self._get(connection_id)).data)

    @extend_schema(
        auth=EMBED_AUTH,
        summary="Reconnect with new credentials, or change settings",
        request=EmbedConnectionUpdateIn,
        responses=EmbedConnectionOut,
    )
    def patch(self, request, connection_id: str):
        from apps.connectors.services import connection_update

        data = validated(EmbedConnectionUpdateIn, request.data)
        if not data:
            raise InvalidInput("Send credentials or config to change.", code="empty_patch")
        connection = self._get(connection_id)
        if "credentials" in data and selectors.connector_cards(slugs=[connection.connector.slug]).get(
            connection.connector.slug, {}
        ).get("oauth"):
            raise _oauth_only(connection.connector.slug)
        connection_update(
            actor=self.principal,
            connection=connection,
            credentials=data.get("credentials"),
            config=data.get("config"),
        )
        return Response(EmbedConnectionOut(self._get(connection_id)).data)

    @extend_schema(
        auth=EMBED_AUTH,
        summary="Disconnect (the token is revoked at the provider where the connector says how)",
        responses={204: None},
    )
    def delete(self, request, connection_id: str):
        from apps.connectors.services.connections import connection_revoke

        connection_revoke(actor=self.principal, connection=self._get(connection_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
