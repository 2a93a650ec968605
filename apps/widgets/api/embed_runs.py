"""End-user runs: this customer's executions of the templates' workflows,
and the three figures of the Insights tab."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.core.api import choice_param
from apps.core.pagination import page_body, parse_limit
from apps.widgets import selectors
from apps.widgets.api.base import EmbedAPIView
from apps.widgets.api.org import page_of
from apps.widgets.exceptions import ExecutionNotFound

EMBED_AUTH = [{"CustomerSession": []}]
STATUSES = ["queued", "running", "completed", "failed", "timeout"]


class TemplateRefOut(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()


class EmbedExecutionOut(serializers.Serializer):
    id = serializers.UUIDField()
    template = TemplateRefOut(allow_null=True)
    status = serializers.CharField()
    triggered_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.FloatField(allow_null=True)
    attempts = serializers.IntegerField()
    records = serializers.IntegerField(help_text="Records processed (see the Insights definition)")
    error = serializers.DictField(allow_null=True, help_text="{message} of a failed run")


EmbedExecutionPage = page_of(EmbedExecutionOut, "EmbedExecutionPage")


def execution_body(execution, templates: dict) -> dict:
    template = templates.get(execution.workflow_slug)
    failed = execution.status in ("failed", "timeout")
    return EmbedExecutionOut(
        {
            "id": execution.id,
            "template": {"slug": template.slug, "title": template.title} if template else None,
            "status": execution.status,
            "triggered_by": execution.triggered_by,
            "created_at": execution.created_at,
            "started_at": execution.started_at,
            "finished_at": execution.finished_at,
            "duration_ms": execution.duration_ms,
            "attempts": execution.attempts,
            "records": execution.records or 0,
            "error": {"message": execution.error_message or "The run did not finish."} if failed else None,
        }
    ).data


class EmbedExecutionListView(EmbedAPIView):
    @extend_schema(
        auth=EMBED_AUTH,
        operation_id="embed_executions_list",
        summary="This customer's runs of the templates, newest first",
        parameters=[
            OpenApiParameter("status", str, enum=STATUSES),
            OpenApiParameter("template", str, description="A template's slug"),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=EmbedExecutionPage,
    )
    def get(self, request):
        params = request.query_params
        status = choice_param(params, "status", STATUSES)
        templates = selectors.embed_run_templates(context=self.embed)
        wanted = params.get("template", "")
        if wanted:
            templates = {slug: t for slug, t in templates.items() if t.slug == wanted}
        page = selectors.embed_execution_page(
            customer=self.embed.customer,
            workflow_slugs=list(templates),
            status=status,
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit"), default=20, maximum=100),
        )
        return Response(page_body(page, [execution_body(e, templates) for e in page.items]))


class EmbedExecutionDetailView(EmbedAPIView):
    @extend_schema(
        auth=EMBED_AUTH,
        operation_id="embed_execution_get",
        summary="One of this customer's runs",
        responses=EmbedExecutionOut,
    )
    def get(self, request, execution_id: str):
        templates = selectors.embed_run_templates(context=self.embed)
        execution = selectors.embed_execution_get(
            customer=self.embed.customer, workflow_slugs=list(templates), execution_id=execution_id
        )
        if execution is None:
            raise ExecutionNotFound("No run with this id.")
        return Response(execution_body(execution, templates))


class AttentionOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["connection", "template"])
    connector = serializers.CharField(required=False)
    template = serializers.CharField(required=False)
    status = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    at = serializers.DateTimeField(allow_null=True)
    execution_id = serializers.UUIDField(required=False)


class InsightsOut(serializers.Serializer):
    runs_today = serializers.IntegerField()
    records_processed = serializers.IntegerField()
    needs_attention = serializers.IntegerField()
    failed_today = serializers.IntegerField()
    since = serializers.DateTimeField(help_text="Start of today in the organization's time zone")
    attention = AttentionOut(many=True)


class EmbedInsightsView(EmbedAPIView):
    @extend_schema(
        auth=EMBED_AUTH,
        summary="Runs Today, Records Processed and Needs Attention for this customer",
        description="`runs_today`: this customer's runs of the templates since midnight in the organization's "
        "time zone. `records_processed`: over today's completed runs, the number each run reports — its output's "
        "`records_processed` when that is a number, else the length of the output when it is a list, else of its "
        "`records`, `items`, `results` or `data` list, else 0. `needs_attention`: connections that need the "
        "customer (needs_reauth, error) plus enabled templates whose last run failed; `attention` lists them.",
        responses=InsightsOut,
    )
    def get(self, request):
        return Response(InsightsOut(selectors.embed_insights(context=self.embed)).data)
