"""Reads of triggers and events."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Max, QuerySet

from apps.triggers.exceptions import EventNotFound, TriggerNotFound
from apps.triggers.models import Event, Trigger


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None


def _with_last_event(queryset: QuerySet[Trigger]) -> QuerySet[Trigger]:
    # Read from the events (index event_trigger) rather than kept on the
    # trigger: a column there would be one more write, and a row lock every
    # concurrent intake request waits on.
    return queryset.annotate(last_event_at=Max("events__received_at"))


def trigger_list(*, type: str = "", workflow: str = "", customer_id=None) -> QuerySet[Trigger]:
    queryset = _with_last_event(Trigger.objects.select_related("workflow", "customer"))
    if type:
        queryset = queryset.filter(type=type)
    if workflow:
        queryset = queryset.filter(workflow__slug=workflow)
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    return queryset


def trigger_get(*, trigger_id: Any, customer_id=None) -> Trigger:
    parsed = _uuid(trigger_id)
    queryset = _with_last_event(Trigger.objects.select_related("workflow", "customer"))
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    trigger = queryset.filter(pk=parsed).first() if parsed else None
    if trigger is None:
        raise TriggerNotFound("No trigger with this id.")
    return trigger


def event_list(
    *, type: str = "", status: str = "", trigger_id=None, workflow: str = "", customer_id=None
) -> QuerySet[Event]:
    queryset = Event.objects.defer("payload", "headers", "response_body")
    if type:
        queryset = queryset.filter(type=type)
    if status:
        queryset = queryset.filter(status=status)
    if trigger_id is not None:
        queryset = queryset.filter(trigger_id=trigger_id)
    if workflow:
        queryset = queryset.filter(workflow_slug=workflow)
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    return queryset


def event_get(*, event_id: Any, customer_id=None) -> Event:
    parsed = _uuid(event_id)
    queryset = Event.objects.select_related("trigger")
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    event = queryset.filter(pk=parsed).first() if parsed else None
    if event is None:
        raise EventNotFound("No event with this id.")
    return event


def event_executions(*, event: Event) -> list:
    """The executions the event started (retries of one execution count as its attempts)."""
    from apps.workflows.models import Execution

    return list(Execution.objects.filter(event_id=event.id).order_by("created_at"))


def event_outgoing_calls(*, execution_ids: list, limit: int = 100) -> list:
    """Connector calls those executions made: what the event caused outside."""
    from apps.connectors.models import CallTrace

    if not execution_ids:
        return []
    return list(CallTrace.objects.filter(execution_id__in=execution_ids).order_by("created_at")[:limit])


def events_with_execution_status(*, events: list[Event]) -> None:
    """Give each event its execution's current status (the event row's copy
    lags until the relay settles it)."""
    from apps.workflows.selectors import execution_statuses

    ids = [e.execution_id for e in events if e.execution_id]
    current = execution_statuses(execution_ids=ids) if ids else {}
    for event in events:
        event.execution_status = current.get(event.execution_id, event.execution_status)
