"""End-user templates: the list with this customer's state, enable (with
settings), disable."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.core.api import validated
from apps.core.serializers import JSONObjectField, StrictSerializer
from apps.widgets import selectors
from apps.widgets.api.base import EmbedAPIView
from apps.widgets.api.org import page_of
from apps.widgets.models import Activation, Template
from apps.widgets.schemas import config_with_defaults
from apps.widgets.services.activations import activation_disable, activation_enable, connected_connectors

EMBED_AUTH = [{"CustomerSession": []}]
EMPTY_SCHEMA = {"type": "object", "properties": {}}


class ActivationOut(serializers.Serializer):
    id = serializers.UUIDField()
    template = serializers.CharField()
    enabled = serializers.BooleanField()
    config = serializers.JSONField()
    trigger_type = serializers.CharField()
    url = serializers.CharField(allow_null=True, help_text="A webhook template: this customer's own URL")
    signing_secret = serializers.CharField(required=False, help_text="Shown once, when it was generated")
    next_runs = serializers.ListField(child=serializers.CharField(), allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    enabled_at = serializers.DateTimeField(allow_null=True)
    disabled_at = serializers.DateTimeField(allow_null=True)


class EmbedTemplateOut(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    connectors = serializers.ListField(child=serializers.CharField())
    missing_connectors = serializers.ListField(child=serializers.CharField())
    config_schema = serializers.JSONField()
    config = serializers.JSONField(help_text="The settings of the last time, else the schema's defaults")
    trigger_type = serializers.CharField()
    enabled = serializers.BooleanField()
    activation = ActivationOut(allow_null=True)


EmbedTemplatePage = page_of(EmbedTemplateOut, "EmbedTemplatePage")


def next_runs(trigger, count: int = 5) -> list[str] | None:
    from apps.triggers.services.triggers import schedule_of

    if trigger is None or trigger.type != "scheduler":
        return None
    if not trigger.enabled or trigger.next_scheduled_for is None:
        return []
    times = [trigger.next_scheduled_for, *schedule_of(trigger).upcoming(trigger.next_scheduled_for, count - 1)]
    return [t.isoformat().replace("+00:00", "Z") for t in times]


def activation_body(activation: Activation, template: Template, once: dict | None = None) -> dict[str, Any]:
    from apps.triggers.services.triggers import trigger_url

    trigger = activation.trigger
    body = {
        "id": activation.id,
        "template": template.slug,
        "enabled": activation.enabled,
        "config": activation.config,
        "trigger_type": template.trigger_type,
        "url": trigger_url(trigger) if trigger is not None and trigger.type == "webhook" else None,
        "next_runs": next_runs(trigger),
        "created_at": activation.created_at,
        "updated_at": activation.updated_at,
        "enabled_at": activation.enabled_at,
        "disabled_at": activation.disabled_at,
    }
    if once:
        body.update(once)
    return ActivationOut(body).data


def template_card(template: Template, activation: Activation | None, connected: set[str]) -> dict[str, Any]:
    schema = template.config_schema or EMPTY_SCHEMA
    return {
        "slug": template.slug,
        "title": template.title,
        "description": template.description,
        "connectors": template.connectors,
        "missing_connectors": [slug for slug in template.connectors if slug not in connected],
        "config_schema": schema,
        "config": activation.config if activation is not None else config_with_defaults(schema, {}),
        "trigger_type": template.trigger_type,
        "enabled": bool(activation is not None and activation.enabled),
        "activation": activation_body(activation, template) if activation is not None else None,
    }


def embed_template_cards(view: EmbedAPIView) -> list[dict[str, Any]]:
    templates, activations = selectors.embed_templates(context=view.embed)
    needed = sorted({slug for template in templates for slug in template.connectors})
    connected = connected_connectors(customer=view.embed.customer, slugs=needed) if needed else set()
    return [template_card(t, activations.get(t.id), connected) for t in templates]


class EmbedTemplateListView(EmbedAPIView):
    @extend_schema(
        auth=EMBED_AUTH,
        operation_id="embed_templates_list",
        summary="The templates this customer may switch on, with their state and settings form",
        responses=EmbedTemplatePage,
    )
    def get(self, request):
        # The widget's list is short and ordered by the organization: one page.
        return Response({"results": embed_template_cards(self), "next_cursor": None, "has_more": False})


class EnableIn(StrictSerializer):
    config = JSONObjectField(required=False, allow_null=True, default=None)


class EmbedTemplateEnableView(EmbedAPIView):
    @extend_schema(
        auth=EMBED_AUTH,
        summary="Switch a template on for this customer (or change its settings)",
        description="`config` is checked against the template's config_schema (400 naming the field; defaults "
        "filled in); left out, the settings of the last time are used. Every app in `connectors` must be "
        "connected (409 connector_not_connected naming it). 201 when the template was off, 200 when it was on "
        "and only its settings changed. A webhook template's activation carries its own `url`.",
        request=EnableIn,
        responses={
            201: ActivationOut,
            200: ActivationOut,
            400: OpenApiResponse(description="config breaks the schema"),
            409: OpenApiResponse(description="a required app is not connected"),
        },
    )
    def post(self, request, slug: str):
        data = validated(EnableIn, request.data if request.data is not None else {})
        template, _ = selectors.embed_template_get(context=self.embed, slug=slug)
        result = activation_enable(
            actor=self.principal, template=template, customer=self.embed.customer, config=data["config"]
        )
        body = activation_body(result.activation, template, result.once)
        response = Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
        if result.once:
            response["Cache-Control"] = "no-store"
        return response


class EmbedTemplateDetailView(EmbedAPIView):
    @extend_schema(
        auth=EMBED_AUTH,
        operation_id="embed_template_get",
        summary="One template with this customer's state",
        responses=EmbedTemplateOut,
    )
    def get(self, request, slug: str):
        template, activation = selectors.embed_template_get(context=self.embed, slug=slug)
        connected = connected_connectors(customer=self.embed.customer, slugs=template.connectors)
        return Response(template_card(template, activation, connected))

    @extend_schema(
        auth=EMBED_AUTH,
        summary="Switch a template off for this customer: its trigger stops; its settings are kept",
        responses={204: None},
    )
    def delete(self, request, slug: str):
        template, _ = selectors.embed_template_get(context=self.embed, slug=slug)
        activation_disable(actor=self.principal, template=template, customer=self.embed.customer)
        return Response(status=status.HTTP_204_NO_CONTENT)
