"""Triggers API: `/api/v1/triggers` (+ rotate-token, rotate-secret, fire) and `/api/v1/events`.

Triggers belong to their workflow: the permission resource is `workflows`
(view / create / edit / delete; firing one by hand is `run`). With
`x-fastn-account-tenant-id`, a call sees and makes only that customer's
triggers and events.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from apps.accounts.roles import Resource
from apps.core.api import TenantAPIView, choice_param, validated
from apps.core.errors import InvalidInput
from apps.core.pagination import page_body, paginate_newest_first, parse_limit
from apps.core.serializers import (
    JSONObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
)
from apps.triggers import selectors
from apps.triggers.models import Event, Trigger
from apps.triggers.services import triggers as services
from apps.triggers.services.events import trigger_fire

NEXT_RUNS = 5


# --- representations ------------------------------------------------------------------


class TriggerOut(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    name = serializers.CharField()
    workflow = serializers.CharField(source="workflow.slug")
    environment = serializers.CharField()
    customer = serializers.SerializerMethodField()
    enabled = serializers.BooleanField()
    config = serializers.JSONField()
    url = serializers.SerializerMethodField()
    signing = serializers.SerializerMethodField()
    next_runs = serializers.SerializerMethodField()
    next_run_at = serializers.DateTimeField(allow_null=True)
    last_fired_at = serializers.DateTimeField(allow_null=True)
    last_event_at = serializers.DateTimeField(allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    updated_by = serializers.CharField()

    def get_customer(self, trigger: Trigger) -> str | None:
        return trigger.customer.external_id if trigger.customer_id else None

    def get_url(self, trigger: Trigger) -> str | None:
        return services.trigger_url(trigger)

    def get_signing(self, trigger: Trigger) -> bool:
        return bool(trigger.secret_ciphertext)

    def get_next_runs(self, trigger: Trigger) -> list[str] | None:
        return next_runs(trigger)


def next_runs(trigger: Trigger, count: int = NEXT_RUNS) -> list[str] | None:
    """The next nominal run times (the jitter, if any, comes on top)."""
    if trigger.type != Trigger.Type.SCHEDULER or not trigger.enabled or trigger.next_scheduled_for is None:
        return [] if trigger.type == Trigger.Type.SCHEDULER else None
    times = [trigger.next_scheduled_for]
    times += services.schedule_of(trigger).upcoming(trigger.next_scheduled_for, count - 1)
    return [t.isoformat().replace("+00:00", "Z") for t in times]


class EventSummaryOut(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    status = serializers.CharField()
    trigger = serializers.UUIDField(source="trigger_id", allow_null=True)
    workflow = serializers.CharField(source="workflow_slug")
    environment = serializers.CharField()
    source = serializers.CharField()
    event_type = serializers.CharField()
    customer = serializers.SerializerMethodField()
    execution_id = serializers.UUIDField(allow_null=True)
    execution_status = serializers.CharField()
    dedup_key = serializers.CharField()
    payload_bytes = serializers.IntegerField()
    error = serializers.JSONField()
    received_at = serializers.DateTimeField()
    dispatched_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_customer(self, event: Event) -> str | None:
        return event.customer_external_id or None


class EventOut(EventSummaryOut):
    payload = serializers.JSONField()
    headers = serializers.JSONField()
    source_ip = serializers.CharField(allow_null=True)
    response_status = serializers.IntegerField(allow_null=True)
    executions = serializers.SerializerMethodField()

    def get_executions(self, event: Event) -> list[dict]:
        return [
            {
                "id": str(e.id),
                "status": e.status,
                "attempts": e.attempts,
                "tier": e.tier,
                "started_at": e.started_at,
                "finished_at": e.finished_at,
                "duration_ms": e.duration_ms,
            }
            for e in selectors.event_executions(event=event)
        ]


# --- inputs -------------------------------------------------------------------------------


class TriggerCreateIn(StrictSerializer):
    type = StrictChoiceField(choices=Trigger.Type.values)
    workflow = StrictCharField(max_length=100)
    environment = StrictCharField(max_length=50, required=False, default="production")
    customer = StrictCharField(max_length=255, required=False, allow_null=True, default=None)
    config = JSONObjectField(required=False, default=dict)
    name = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    enabled = StrictBooleanField(required=False, default=True)


class TriggerUpdateIn(StrictSerializer):
    type = StrictChoiceField(choices=Trigger.Type.values, required=False)
    workflow = StrictCharField(max_length=100, required=False)
    environment = StrictCharField(max_length=50, required=False)
    customer = StrictCharField(max_length=255, required=False, allow_null=True)
    config = JSONObjectField(required=False)
    name = StrictCharField(max_length=200, required=False, allow_blank=True)
    enabled = StrictBooleanField(required=False)


class FireIn(StrictSerializer):
    input = serializers.JSONField(required=False, default=None)


def _trigger_body(trigger: Trigger, once: dict | None = None) -> dict:
    body = dict(TriggerOut(trigger).data)
    body.update(once or {})
    return body


class _TriggerView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    def scoped_customer(self, request):
        """The customer of x-fastn-account-tenant-id, or None for organization-wide calls."""
        return self.customer(request, required=False)

    def get_trigger(self, request, trigger_id: str) -> Trigger:
        customer = self.scoped_customer(request)
        return selectors.trigger_get(trigger_id=trigger_id, customer_id=customer.pk if customer else None)


class TriggerListView(_TriggerView):
    @extend_schema(
        summary="List triggers",
        parameters=[
            OpenApiParameter("type", str, enum=Trigger.Type.values),
            OpenApiParameter("workflow", str),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=TriggerOut(many=True),
    )
    def get(self, request):
        params = request.query_params
        kind = params.get("type", "")
        if kind and kind not in Trigger.Type.values:
            raise InvalidInput.for_field("type", "Must be webhook, scheduler or app_event.")
        customer = self.scoped_customer(request)
        queryset = selectors.trigger_list(
            type=kind, workflow=params.get("workflow", ""), customer_id=customer.pk if customer else None
        )
        page = paginate_newest_first(queryset, cursor=params.get("cursor"), limit=parse_limit(params.get("limit")))
        return Response(page_body(page, [_trigger_body(t) for t in page.items]))

    @extend_schema(
        summary="Create a trigger",
        description="A webhook trigger answers with its `url` (`/hooks/{token}`); with `config.signing` true and "
        "no `config.secret`, the generated `signing_secret` is in this answer only. Scheduler config: "
        '`{"cron": "*/5 * * * *", "timezone": "Europe/Berlin"}` or `{"interval_seconds": 60}`.',
        request=TriggerCreateIn,
        responses={201: TriggerOut},
    )
    def post(self, request):
        data = dict(validated(TriggerCreateIn, request.data))
        customer = self.scoped_customer(request)
        if customer is not None:
            if data["customer"] not in (None, customer.external_id):
                raise InvalidInput.for_field("customer", "Must be the customer of x-fastn-account-tenant-id.")
            data["customer"] = customer.external_id
        result = services.trigger_create(actor=self.principal, **data)
        return Response(_trigger_body(result.trigger, result.once), status=status.HTTP_201_CREATED)


class TriggerDetailView(_TriggerView):
    @extend_schema(summary="Get a trigger", responses=TriggerOut)
    def get(self, request, trigger_id: str):
        return Response(_trigger_body(self.get_trigger(request, trigger_id)))

    @extend_schema(
        summary="Change a trigger",
        description="`config` replaces the whole config; a secret left out stays. The type cannot change.",
        request=TriggerUpdateIn,
        responses=TriggerOut,
    )
    def patch(self, request, trigger_id: str):
        data = validated(TriggerUpdateIn, request.data)
        trigger = self.get_trigger(request, trigger_id)
        customer = self.scoped_customer(request)
        if customer is not None and "customer" in data and data["customer"] != customer.external_id:
            raise InvalidInput.for_field("customer", "Must be the customer of x-fastn-account-tenant-id.")
        result = services.trigger_update(actor=self.principal, trigger=trigger, **data)
        return Response(_trigger_body(result.trigger, result.once))

    @extend_schema(summary="Delete a trigger", responses={204: None})
    def delete(self, request, trigger_id: str):
        services.trigger_delete(actor=self.principal, trigger=self.get_trigger(request, trigger_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TriggerRotateTokenView(_TriggerView):
    permission_action = "edit"

    @extend_schema(summary="A new hook URL (the old one stops working at once)", request=None, responses=TriggerOut)
    def post(self, request, trigger_id: str):
        trigger = services.trigger_rotate_token(actor=self.principal, trigger=self.get_trigger(request, trigger_id))
        return Response(_trigger_body(trigger))


class TriggerRotateSecretView(_TriggerView):
    permission_action = "edit"

    @extend_schema(summary="A new signing secret (shown in this answer only)", request=None, responses=TriggerOut)
    def post(self, request, trigger_id: str):
        trigger, secret = services.trigger_rotate_secret(
            actor=self.principal, trigger=self.get_trigger(request, trigger_id)
        )
        return Response(_trigger_body(trigger, {"signing_secret": secret}))


class TriggerFireView(_TriggerView):
    """Start the trigger's workflow now, as a manual event (the Events log's Manual)."""

    permission_action = "run"
    # The event and execution must be committed before the worker looks (apps.core.rls).
    customer_scoped = False

    @extend_schema(summary="Fire a trigger by hand", request=FireIn, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, trigger_id: str):
        raw = request.data
        if not isinstance(raw, dict) and not raw:
            raw = {}  # no body at all
        data = validated(FireIn, raw)
        trigger = self.get_trigger(request, trigger_id)
        event, dispatched = trigger_fire(
            trigger=trigger, payload=data["input"], source_ip=request.META.get("REMOTE_ADDR")
        )
        if dispatched is not None and dispatched.error is not None:
            raise dispatched.error
        body = {"event_id": str(event.id), "status": event.status}
        if event.execution_id:
            body["execution_id"] = str(event.execution_id)
        return Response(body, status=status.HTTP_202_ACCEPTED)


class EventListView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(
        summary="Incoming events, newest first (keyset pagination)",
        parameters=[
            OpenApiParameter("type", str, enum=Event.Type.values),
            OpenApiParameter("status", str, enum=Event.Status.values),
            OpenApiParameter("trigger", str),
            OpenApiParameter("workflow", str),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses=EventSummaryOut(many=True),
    )
    def get(self, request):
        params = request.query_params
        kind = choice_param(params, "type", Event.Type.values)
        wanted = choice_param(params, "status", Event.Status.values)
        trigger_id = None
        if params.get("trigger"):
            trigger_id = selectors._uuid(params["trigger"])
            if trigger_id is None:
                raise InvalidInput.for_field("trigger", "Must be a trigger id.")
        customer = self.customer(request, required=False)
        queryset = selectors.event_list(
            type=kind,
            status=wanted,
            trigger_id=trigger_id,
            workflow=params.get("workflow", ""),
            customer_id=customer.pk if customer else None,
        )
        page = paginate_newest_first(
            queryset, cursor=params.get("cursor"), limit=parse_limit(params.get("limit")), time_field="received_at"
        )
        return Response(page_body(page, EventSummaryOut(page.items, many=True).data))


class EventDetailView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    @extend_schema(summary="One event with its payload and executions", responses=EventOut)
    def get(self, request, event_id: str):
        customer = self.customer(request, required=False)
        event = selectors.event_get(event_id=event_id, customer_id=customer.pk if customer else None)
        return Response(EventOut(event).data)
