"""The organization's side: customer sessions, the widget, templates.

Sessions are minted for a customer: `customers.edit` (Owner, Admin,
Developer, Operator; never End User keys). The widget and templates are
built like workflows: the permission resource is `workflows`.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.accounts.access import principal_can_object, principal_require_object
from apps.accounts.roles import Resource
from apps.core.api import TenantAPIView, choice_param, validated
from apps.core.pagination import page_body, parse_limit
from apps.core.serializers import JSONObjectField, StrictIntegerField, StrictSerializer
from apps.settings.exceptions import CustomerNotFound
from apps.settings.selectors import customer_get
from apps.widgets import selectors
from apps.widgets.services import sessions as session_services
from apps.widgets.services import widget as widget_services
from apps.widgets.style import PRESETS, style_as_css, style_resolved, token_catalogue


def page_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The list envelope of API.md (`results`, `next_cursor`, `has_more`) for the OpenAPI document."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item(many=True),
            "next_cursor": serializers.CharField(allow_null=True),
            "has_more": serializers.BooleanField(),
            "__module__": __name__,
        },
    )


# --- customer sessions --------------------------------------------------------------------


class CustomerRefOut(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField()


class SessionOut(serializers.Serializer):
    id = serializers.UUIDField()
    prefix = serializers.CharField(source="token_prefix")
    customer = serializers.CharField(source="customer_external_id")
    state = serializers.SerializerMethodField()
    integrations = serializers.ListField(child=serializers.CharField(), allow_null=True)
    allowed_origin = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    created_by = serializers.CharField()

    def get_state(self, session) -> str:
        return selectors.session_state(session)

    def get_allowed_origin(self, session) -> str | None:
        return session.allowed_origin or None


class SessionCreatedOut(serializers.Serializer):
    token = serializers.CharField(help_text="The session token. Shown this once; give it to your front end.")
    expires_at = serializers.DateTimeField()
    customer = CustomerRefOut()
    id = serializers.UUIDField()
    integrations = serializers.ListField(child=serializers.CharField(), allow_null=True)
    allowed_origin = serializers.CharField(allow_null=True)


class SessionCreateIn(StrictSerializer):
    ttl_seconds = StrictIntegerField(required=False, allow_null=True, default=None)
    integrations = serializers.JSONField(required=False, allow_null=True, default=None)
    allowed_origin = serializers.JSONField(required=False, allow_null=True, default=None)


SessionPage = page_of(SessionOut, "CustomerSessionPage")


class _CustomerView(TenantAPIView):
    permission_resource = Resource.CUSTOMERS
    permission_actions = {"POST": "edit", "DELETE": "edit"}

    def _customer(self, external_id: str, action: str):
        """The customer, if this principal's role reaches it: unseen ones are 404, others 403."""
        customer = customer_get(external_id=external_id)
        if not principal_can_object(self.principal, Resource.CUSTOMERS, "view", customer):
            raise CustomerNotFound(f"No customer with external_id {external_id!r}.")
        principal_require_object(self.principal, Resource.CUSTOMERS, action, customer)
        return customer


class CustomerSessionListView(_CustomerView):
    @extend_schema(
        operation_id="customer_sessions_list",
        summary="A customer's sessions (never their tokens)",
        parameters=[
            OpenApiParameter("state", str, enum=["active", "expired", "revoked", "all"]),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=SessionPage,
    )
    def get(self, request, external_id: str):
        customer = self._customer(external_id, "view")
        params = request.query_params
        state = choice_param(params, "state", ["active", "expired", "revoked", "all"])
        page = selectors.customer_session_page(
            organization=self.principal.organization,
            customer=customer,
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit"), maximum=100),
            state="" if state == "all" else state,
        )
        return Response(page_body(page, SessionOut(page.items, many=True).data))

    @extend_schema(
        summary="Mint a customer session for the widget and the JS clients",
        description="The token acts for this customer only, on /api/v1/embed/… only, until `expires_at` "
        "(ttl_seconds 60–86400, default 3600) or until the customer's sessions are revoked. `integrations` "
        "restricts it to some connectors; `allowed_origin` to one browser origin.",
        request=SessionCreateIn,
        responses={201: SessionCreatedOut},
    )
    def post(self, request, external_id: str):
        data = validated(SessionCreateIn, request.data)
        customer = self._customer(external_id, "edit")
        session, token = session_services.customer_session_create(
            actor=self.principal,
            customer=customer,
            ttl_seconds=data["ttl_seconds"],
            integrations=data["integrations"],
            allowed_origin=data["allowed_origin"],
        )
        body = {
            "token": token,
            "expires_at": session.expires_at,
            "customer": {"external_id": customer.external_id, "name": customer.name},
            "id": session.id,
            "integrations": session.integrations,
            "allowed_origin": session.allowed_origin or None,
        }
        response = Response(SessionCreatedOut(body).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        operation_id="customer_sessions_revoke_all",
        summary="Revoke every session of the customer, at once",
        responses={204: None},
    )
    def delete(self, request, external_id: str):
        customer = self._customer(external_id, "edit")
        session_services.customer_sessions_revoke(actor=self.principal, customer=customer)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerSessionDetailView(_CustomerView):
    @extend_schema(operation_id="customer_session_revoke", summary="Revoke one session", responses={204: None})
    def delete(self, request, external_id: str, session_id: str):
        customer = self._customer(external_id, "edit")
        session_services.customer_session_revoke(actor=self.principal, customer=customer, session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the widget ------------------------------------------------------------------------------


class WidgetIntegrationSerializer(serializers.Serializer):
    connector = serializers.CharField()
    label = serializers.CharField(required=False, allow_blank=True)


class WidgetOut(serializers.Serializer):
    title = serializers.CharField()
    subtitle = serializers.CharField()
    style = serializers.DictField(child=serializers.CharField(), help_text="Every design token (defaults included)")
    integrations = WidgetIntegrationSerializer(many=True)
    templates = serializers.ListField(child=serializers.CharField())
    allowed_origins = serializers.ListField(child=serializers.CharField())
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField()


class WidgetIn(StrictSerializer):
    title = serializers.JSONField(required=False)
    subtitle = serializers.JSONField(required=False)
    style = JSONObjectField(required=False)
    integrations = serializers.JSONField(required=False)
    templates = serializers.JSONField(required=False)
    allowed_origins = serializers.JSONField(required=False)


def widget_body(widget) -> dict:
    return WidgetOut(
        {
            "title": widget.title,
            "subtitle": widget.subtitle,
            "style": style_resolved(widget.style),
            "integrations": widget.integrations or [],
            "templates": widget.templates or [],
            "allowed_origins": widget.allowed_origins or [],
            "updated_at": widget.updated_at,
            "updated_by": widget.updated_by,
        }
    ).data


class WidgetView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS
    permission_actions = {"PUT": "edit", "PATCH": "edit"}

    @extend_schema(summary="The organization's widget", responses=WidgetOut)
    def get(self, request):
        return Response(widget_body(selectors.widget_config()))

    @extend_schema(
        summary="Change the widget",
        description="Fields left out keep their value. `style` holds design tokens (GET /api/v1/widget/tokens); "
        "`integrations` is the display order; `allowed_origins` are the origins (https://app.example.com) "
        "that may embed the widget.",
        request=WidgetIn,
        responses=WidgetOut,
    )
    def put(self, request):
        data = validated(WidgetIn, request.data)
        widget = widget_services.widget_update(actor=self.principal, **data)
        return Response(widget_body(widget))

    @extend_schema(summary="Change some fields of the widget", request=WidgetIn, responses=WidgetOut)
    def patch(self, request):
        return self.put(request)


class TokenOut(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    default = serializers.CharField()
    css_variable = serializers.CharField()


class WidgetTokensOut(serializers.Serializer):
    tokens = TokenOut(many=True)
    presets = serializers.DictField(child=serializers.DictField(child=serializers.CharField()))
    css = serializers.CharField(help_text="The organization's tokens as CSS custom properties")


class WidgetTokensView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(
        summary="Design tokens: names, kinds, defaults, presets, and the CSS export", responses=WidgetTokensOut
    )
    def get(self, request):
        widget = selectors.widget_config()
        return Response({"tokens": token_catalogue(), "presets": PRESETS, "css": style_as_css(widget.style)})


# --- templates ---------------------------------------------------------------------------------


class TemplateTriggerSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["webhook", "scheduler", "app_event"])
    config = serializers.JSONField()


class TemplateOut(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    workflow = serializers.CharField(source="workflow.slug")
    environment = serializers.CharField()
    connectors = serializers.ListField(child=serializers.CharField())
    config_schema = serializers.JSONField(allow_null=True)
    trigger = serializers.SerializerMethodField()
    activations = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    updated_by = serializers.CharField()

    def get_trigger(self, template) -> dict:
        return {
            "type": template.trigger_type,
            "config": template.trigger_config,
            "has_secret": bool(template.trigger_secret_ciphertext),
        }

    def get_activations(self, template) -> dict:
        counts = (self.context.get("counts") or {}).get(template.id)
        return counts or {"enabled": 0, "total": 0}


class TemplateCreateIn(StrictSerializer):
    workflow = serializers.JSONField()
    title = serializers.JSONField()
    slug = serializers.JSONField(required=False, allow_null=True, default=None)
    description = serializers.JSONField(required=False, default="")
    environment = serializers.JSONField(required=False, default="production")
    connectors = serializers.JSONField(required=False, default=list)
    config_schema = serializers.JSONField(required=False, allow_null=True, default=None)
    trigger = serializers.JSONField()


class TemplateUpdateIn(StrictSerializer):
    workflow = serializers.JSONField(required=False)
    title = serializers.JSONField(required=False)
    description = serializers.JSONField(required=False)
    environment = serializers.JSONField(required=False)
    connectors = serializers.JSONField(required=False)
    config_schema = serializers.JSONField(required=False, allow_null=True)
    trigger = serializers.JSONField(required=False)


TemplatePage = page_of(TemplateOut, "TemplatePage")


def _template_body(template, counts=None) -> dict:
    if counts is None:
        counts = selectors.template_activation_counts(template_ids=[template.id])
    return TemplateOut(template, context={"counts": counts}).data


class TemplateListView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(
        operation_id="templates_list",
        summary="Templates: deployed workflows customers can switch on for themselves",
        parameters=[
            OpenApiParameter("search", str),
            OpenApiParameter("workflow", str),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=TemplatePage,
    )
    def get(self, request):
        from apps.core.pagination import paginate_newest_first

        params = request.query_params
        queryset = selectors.template_list(search=params.get("search", ""), workflow=params.get("workflow", ""))
        page = paginate_newest_first(
            queryset, cursor=params.get("cursor"), limit=parse_limit(params.get("limit"), maximum=100)
        )
        counts = selectors.template_activation_counts(template_ids=[t.id for t in page.items])
        return Response(page_body(page, TemplateOut(page.items, many=True, context={"counts": counts}).data))

    @extend_schema(
        summary="Make a template from a deployed workflow",
        description="`trigger` is a recipe as for /api/v1/triggers ({type, config}; no fan-out): each customer who "
        "enables the template gets a trigger of their own. `config_schema` is a JSON Schema (an object at the "
        "root) of the settings customers fill in; runs see them as ctx.config. `connectors` must be connected "
        "by the customer first.",
        request=TemplateCreateIn,
        responses={201: TemplateOut},
    )
    def post(self, request):
        from apps.widgets.services.templates import template_create

        data = validated(TemplateCreateIn, request.data)
        template = template_create(actor=self.principal, **data)
        return Response(_template_body(template, {}), status=status.HTTP_201_CREATED)


class TemplateDetailView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(operation_id="template_get", summary="A template", responses=TemplateOut)
    def get(self, request, slug: str):
        return Response(_template_body(selectors.template_get(slug=slug)))

    @extend_schema(
        summary="Change a template",
        description="A new workflow, environment or trigger recipe reaches every customer's activation. The "
        "trigger type cannot change while customers use the template.",
        request=TemplateUpdateIn,
        responses=TemplateOut,
    )
    def patch(self, request, slug: str):
        from apps.widgets.services.templates import template_update

        data = validated(TemplateUpdateIn, request.data)
        template = template_update(actor=self.principal, template=selectors.template_get(slug=slug), **data)
        return Response(_template_body(template))

    @extend_schema(summary="Delete a template and every customer's activation of it", responses={204: None})
    def delete(self, request, slug: str):
        from apps.widgets.services.templates import template_delete

        template_delete(actor=self.principal, template=selectors.template_get(slug=slug))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplateActivationOut(serializers.Serializer):
    id = serializers.UUIDField()
    customer = serializers.CharField(source="customer.external_id")
    enabled = serializers.BooleanField()
    config = serializers.JSONField()
    trigger = serializers.UUIDField(source="trigger_id", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    enabled_at = serializers.DateTimeField(allow_null=True)
    disabled_at = serializers.DateTimeField(allow_null=True)


TemplateActivationPage = page_of(TemplateActivationOut, "TemplateActivationPage")


class TemplateActivationListView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(
        operation_id="template_activations_list",
        summary="Which customers use a template, with their settings",
        parameters=[OpenApiParameter("cursor", str), OpenApiParameter("limit", int)],
        responses=TemplateActivationPage,
    )
    def get(self, request, slug: str):
        from apps.core.pagination import paginate_newest_first

        template = selectors.template_get(slug=slug)
        params = request.query_params
        page = paginate_newest_first(
            selectors.template_activations(template=template),
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit"), maximum=100),
        )
        return Response(page_body(page, TemplateActivationOut(page.items, many=True).data))


# --- signing keys for customer JWTs --------------------------------------------------------


class EmbedKeyOut(serializers.Serializer):
    kid = serializers.CharField()
    name = serializers.CharField()
    public_key = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    revoked_at = serializers.DateTimeField(allow_null=True)


class EmbedKeyCreatedOut(EmbedKeyOut):
    private_key = serializers.CharField(
        allow_null=True, help_text="The generated private key (PEM): shown this once, never stored. Null for yours."
    )


class EmbedKeyIn(StrictSerializer):
    name = serializers.JSONField()
    public_key = serializers.JSONField(required=False, allow_null=True, default=None)


EmbedKeyPage = page_of(EmbedKeyOut, "EmbedKeyPage")


class EmbedKeyListView(TenantAPIView):
    permission_resource = Resource.API_KEYS

    @extend_schema(
        operation_id="embed_keys_list",
        summary="Keys your backend signs customer JWTs with",
        parameters=[OpenApiParameter("cursor", str), OpenApiParameter("limit", int)],
        responses=EmbedKeyPage,
    )
    def get(self, request):
        from apps.core.pagination import paginate_newest_first
        from apps.widgets.shared.models import EmbedSigningKey

        params = request.query_params
        page = paginate_newest_first(
            EmbedSigningKey.objects.filter(organization=self.principal.organization),
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit"), maximum=100),
        )
        return Response(page_body(page, EmbedKeyOut(page.items, many=True).data))

    @extend_schema(
        summary="Register a public key for customer JWTs, or generate a pair",
        description="Sign RS256 JWTs with header {kid} and claims {sub: customer external_id, aud: your account id, "
        "iat, exp (at most 86400 s after iat), integrations?, allowed_origin?}; send them as "
        "Authorization: Bearer on /api/v1/embed/… like a session token. Without `public_key` a 2048-bit "
        "RSA pair is generated and the private key returned this once.",
        request=EmbedKeyIn,
        responses={201: EmbedKeyCreatedOut},
    )
    def post(self, request):
        from apps.widgets.services.signing_keys import embed_key_create

        data = validated(EmbedKeyIn, request.data)
        key, private_pem = embed_key_create(actor=self.principal, name=data["name"], public_key=data["public_key"])
        body = dict(EmbedKeyOut(key).data)
        body["private_key"] = private_pem
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class EmbedKeyDetailView(TenantAPIView):
    permission_resource = Resource.API_KEYS

    @extend_schema(summary="Revoke a signing key: its tokens answer 401 at once", responses={204: None})
    def delete(self, request, kid: str):
        from apps.widgets.services.signing_keys import embed_key_revoke

        embed_key_revoke(actor=self.principal, kid=kid)
        return Response(status=status.HTTP_204_NO_CONTENT)
