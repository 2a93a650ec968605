"""Writing call traces: one row per connector call, success or failure."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import DatabaseError, transaction

from apps.connectors.executor import CallTrace as ExecutorTrace
from apps.connectors.models import CallTrace
from apps.core import http, metrics

logger = logging.getLogger(__name__)

_MAX_URL = 4000
_MAX_ERROR = 2000


def call_trace_record(
    *,
    connector_slug: str,
    action: str,
    connector_version: int | None,
    trace: ExecutorTrace | None = None,
    error: str = "",
    error_code: str = "",
    method: str = "",
    origin: str = CallTrace.Origin.RUN,
    execution_id: uuid.UUID | None = None,
    connection_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    workflow_slug: str = "",
    secrets: Iterable[str] = (),
) -> CallTrace | None:
    """Store one call's trace. The executor's trace is redacted already; the
    run's own secrets are hidden once more here, so a secret passed as a
    parameter never reaches the table.

    A failure to write is logged and swallowed: the call itself happened and
    its outcome must reach the workflow.
    """
    redactor = http.Redactor(secrets)
    if trace is not None:
        error = error or trace.error or ""
        error_code = error_code or trace.error_code or ""
    row = CallTrace(
        id=uuid.uuid4(),
        connector_slug=connector_slug[:63],
        connector_version=connector_version,
        action=action[:128],
        method=(trace.method if trace else method)[:10],
        url=redactor.redact_url(trace.url)[:_MAX_URL] if trace and trace.url else "",
        status=trace.status if trace else None,
        ok=not error and not error_code,
        duration_ms=trace.duration_ms if trace else 0,
        request_bytes=trace.request_bytes if trace else 0,
        response_bytes=trace.response_bytes if trace else 0,
        pages=min(trace.pages, 32767) if trace else 0,
        attempts=min(trace.attempts, 32767) if trace else 0,
        error=redactor.redact(error)[:_MAX_ERROR],
        error_code=error_code[:64],
        origin=origin,
        execution_id=execution_id,
        connection_id=connection_id,
        customer_id=customer_id,
        workflow_slug=workflow_slug[:100],
        detail=_redacted(trace.detail, redactor) if trace is not None and trace.detail else None,
    )
    metrics.connector_call_observed(
        connector=row.connector_slug, status=row.status, ok=row.ok, duration_ms=row.duration_ms
    )
    try:
        with transaction.atomic():  # a savepoint: a failed insert leaves the caller's transaction usable
            row.save(force_insert=True)
    except DatabaseError:
        logger.exception("Could not store the trace of %s.%s", connector_slug, action)
        return None
    return row


def _redacted(value: Any, redactor: http.Redactor) -> Any:
    """The run's own secrets hidden in every string of the detail."""
    if not redactor:
        return value
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item, redactor) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, redactor) for item in value]
    return value


def call_traces_purge(*, older_than, batch_size: int = 5000) -> int:
    """Delete the current organization's traces created before `older_than`,
    in batches (short transactions, no long lock on a busy table). Returns the count."""
    deleted = 0
    while True:
        batch = list(CallTrace.objects.filter(created_at__lt=older_than).values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        deleted += CallTrace.objects.filter(pk__in=batch).delete()[0]
