"""Reads of triggers and events."""

from __future__ import annotations

import json
import uuid
from functools import cache
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


# --- the hook's hot path ------------------------------------------------------------------------


@cache
def _hook_target_sql() -> tuple[str, tuple, tuple, tuple]:
    from apps.settings.models import Customer
    from apps.workflows.models import Workflow

    models_ = ((Trigger, "t"), (Workflow, "w"), (Customer, "c"))
    fields = tuple(tuple(model._meta.concrete_fields) for model, _ in models_)
    columns = ", ".join(f'{alias}."{f.column}"' for (model, alias), fs in zip(models_, fields, strict=True) for f in fs)
    # Table names come from the models; the only value is a parameter.
    sql = f"""
SELECT {columns}, v.id, v.number, v.config
  FROM triggers_trigger t
  JOIN workflows_workflow w ON w.id = t.workflow_id
  LEFT JOIN settings_customer c ON c.id = t.customer_id
  LEFT JOIN LATERAL (
        SELECT d.version_id FROM workflows_deployment d JOIN settings_environment e ON e.id = d.environment_id
         WHERE d.workflow_id = w.id AND e.slug = t.environment
         ORDER BY d.deployed_at DESC LIMIT 1) dv ON true
  LEFT JOIN workflows_workflowversion v ON v.id = dv.version_id
 WHERE t.id = %s AND t.type = 'webhook'
"""  # noqa: S608
    return sql, *fields


def _from_row(model, fields, values):
    from django.db import connection

    converted = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") and value is not None else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db("default", [f.attname for f in fields], converted)


def webhook_target(*, trigger_id: Any):
    """(trigger with its workflow and customer, the version deployed to its environment or None),
    or (None, None): one query on the hook's hot path (the ORM's compile step costs more than
    the query)."""
    from django.db import connection

    from apps.settings.models import Customer
    from apps.workflows.models import Workflow, WorkflowVersion

    sql, trigger_fields, workflow_fields, customer_fields = _hook_target_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [trigger_id])
        row = cursor.fetchone()
    if row is None:
        return None, None
    n_t, n_w, n_c = len(trigger_fields), len(workflow_fields), len(customer_fields)
    trigger = _from_row(Trigger, trigger_fields, row[:n_t])
    trigger.workflow = _from_row(Workflow, workflow_fields, row[n_t : n_t + n_w])
    customer_values = row[n_t + n_w : n_t + n_w + n_c]
    trigger.customer = _from_row(Customer, customer_fields, customer_values) if customer_values[0] else None
    version_id, number, config = row[n_t + n_w + n_c :]
    version = None
    if version_id is not None:
        version = WorkflowVersion(
            id=version_id,
            workflow_id=trigger.workflow.id,
            number=number,
            config=json.loads(config) if isinstance(config, str) else config,
        )
        version._state.adding, version._state.db = False, "default"
    return trigger, version
