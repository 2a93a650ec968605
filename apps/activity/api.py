"""Alerts API: `/api/v1/alerts` (API.md "Alerts").

Rules belong to the operation of workflows: the permission resource is
`workflows` (view to read; create, edit, delete to change; `run` to send a
test notification). Bodies are checked by the services, which name the field
of any mistake.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import status
from rest_framework.response import Response

from apps.accounts.roles import Resource
from apps.activity import selectors, services
from apps.activity.models import AlertEvent, AlertRule
from apps.core.api import TenantAPIView
from apps.core.errors import InvalidInput
from apps.core.pagination import page_body, paginate_newest_first, parse_limit


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def rule_body(rule: AlertRule, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {
        "id": str(rule.id),
        "name": rule.name,
        "metric": rule.metric,
        "scope": rule.scope,
        "window_seconds": rule.window_seconds,
        "operator": rule.operator,
        "threshold": rule.threshold,
        "resolve_threshold": services.resolve_threshold(rule),
        "resolve_after": rule.resolve_after,
        "channels": rule.channels,
        "enabled": rule.enabled,
        "state": rule.state,
        "state_changed_at": _iso(rule.state_changed_at),
        "muted_until": _iso(rule.muted_until),
        "last_value": rule.last_value,
        "last_evaluated_at": _iso(rule.last_evaluated_at),
        "created_at": _iso(rule.created_at),
        "updated_at": _iso(rule.updated_at),
        "created_by": rule.created_by,
    }
    return {**body, **(extra or {})}


def event_body(event: AlertEvent) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "kind": event.kind,
        "value": event.value,
        "threshold": event.threshold,
        "muted": event.muted,
        "deliveries": event.deliveries,
        "at": _iso(event.created_at),
    }


def _data(request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise InvalidInput("The request body must be a JSON object.", code="invalid_body")
    return request.data


class _AlertView(TenantAPIView):
    permission_resource = Resource.WORKFLOWS

    def get_rule(self, rule_id: str) -> AlertRule:
        return selectors.alert_rule_get(rule_id=rule_id)


RULE_BODY = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "metric": {"type": "string", "enum": list(AlertRule.Metric.values)},
        "scope": {"type": "object"},
        "window_seconds": {"type": "integer"},
        "operator": {"type": "string", "enum": list(AlertRule.Operator.values)},
        "threshold": {"type": "number"},
        "resolve_threshold": {"type": "number", "nullable": True},
        "resolve_after": {"type": "integer"},
        "channels": {"type": "array", "items": {"type": "object"}},
        "enabled": {"type": "boolean"},
        "muted_until": {"type": "string", "format": "date-time", "nullable": True},
    },
}


class AlertListView(_AlertView):
    @extend_schema(
        summary="Alert rules, newest first",
        parameters=[OpenApiParameter("state", str), OpenApiParameter("cursor", str), OpenApiParameter("limit", int)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        state = request.query_params.get("state", "")
        if state and state not in AlertRule.State.values:
            raise InvalidInput.for_field("state", "Must be ok or firing.")
        page = paginate_newest_first(
            selectors.alert_rule_list(state=state),
            cursor=request.query_params.get("cursor"),
            limit=parse_limit(request.query_params.get("limit"), maximum=100),
        )
        return Response(page_body(page, [rule_body(rule) for rule in page.items]))

    @extend_schema(
        summary="Create an alert rule",
        description="Answers with `state` (`ok`) and, this once, the `signing_secret` its webhook channels sign "
        'with (`x-fastn-signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`). `error_rate` is a '
        "percentage; latencies are milliseconds; `throughput` is per minute over the window.",
        request={"application/json": RULE_BODY},
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        rule, secret = services.alert_rule_create(actor=self.principal, data=_data(request))
        return Response(rule_body(rule, {"signing_secret": secret}), status=status.HTTP_201_CREATED)


class AlertDetailView(_AlertView):
    @extend_schema(summary="Get an alert rule", responses=OpenApiTypes.OBJECT)
    def get(self, request, rule_id: str):
        return Response(rule_body(self.get_rule(rule_id)))

    @extend_schema(
        summary="Change an alert rule", request={"application/json": RULE_BODY}, responses=OpenApiTypes.OBJECT
    )
    def patch(self, request, rule_id: str):
        rule = services.alert_rule_update(actor=self.principal, rule=self.get_rule(rule_id), data=_data(request))
        return Response(rule_body(rule))

    @extend_schema(summary="Delete an alert rule", responses={204: None})
    def delete(self, request, rule_id: str):
        services.alert_rule_delete(actor=self.principal, rule=self.get_rule(rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertEventListView(_AlertView):
    @extend_schema(
        summary="An alert rule's events (fired, resolved, test), newest first, with the measured value",
        parameters=[OpenApiParameter("cursor", str), OpenApiParameter("limit", int)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, rule_id: str):
        rule = self.get_rule(rule_id)
        page = paginate_newest_first(
            selectors.alert_event_list(rule=rule),
            cursor=request.query_params.get("cursor"),
            limit=parse_limit(request.query_params.get("limit"), maximum=100),
        )
        return Response(page_body(page, [event_body(event) for event in page.items]))


class AlertMuteView(_AlertView):
    permission_action = "edit"

    @extend_schema(
        summary="Mute an alert rule for a period (0 unmutes); a muted rule keeps its history but sends nothing",
        request={"application/json": {"type": "object", "properties": {"seconds": {"type": "integer"}}}},
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request, rule_id: str):
        data = _data(request)
        if "seconds" not in data:
            raise InvalidInput.for_field("seconds", "Required: how long to mute, in seconds (0 unmutes).")
        rule = services.alert_rule_mute(actor=self.principal, rule=self.get_rule(rule_id), seconds=data["seconds"])
        return Response(rule_body(rule))


class AlertTestView(_AlertView):
    permission_action = "run"

    @extend_schema(
        summary="Send a test notification to every channel of the rule now",
        request=None,
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request, rule_id: str):
        event = services.alert_test_send(actor=self.principal, rule=self.get_rule(rule_id))
        return Response(event_body(event))
