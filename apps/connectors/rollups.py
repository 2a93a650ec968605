"""Per-minute rollups of connector calls (`CallMinute`): written and read.

`call_rollup` runs every minute from beat (apps.activity's minute task) in
each organization's schema: one aggregate over the traces of the last few
minutes (the `trace_newest` index range, joined to customers for their
external id), replacing those
minutes' rows in one transaction. A trace is written when its call ends, so
`created_at` is the minute the call finished. Nothing here touches the
call's hot path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.connectors.models import CallMinute
from apps.core import latency

ROLLUP_SQL = """
SELECT date_trunc('minute', t.created_at) AS minute, t.connector_slug, t.workflow_slug,
       COALESCE(c.external_id, ''), t.ok,
       width_bucket(t.duration_ms, %(bounds)s::float8[]) AS bucket,
       count(*), sum(t.duration_ms)
  FROM connectors_calltrace t
  LEFT JOIN settings_customer c ON c.id = t.customer_id
 WHERE t.created_at >= %(since)s AND t.created_at < %(until)s
 GROUP BY 1, 2, 3, 4, 5, 6
"""


@dataclass
class _Row:
    calls: int = 0
    errors: int = 0
    duration_sum_ms: float = 0.0
    buckets: list[int] = field(default_factory=latency.empty)


def _floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def call_rollup(*, since: datetime, until: datetime | None = None) -> int:
    """Recompute the current organization's call rollup for the minutes in [since, until]."""
    since = _floor(since)
    until = _floor(until or timezone.now()) + timedelta(minutes=1)
    rows: dict[tuple, _Row] = {}
    with connection.cursor() as cursor:
        cursor.execute(ROLLUP_SQL, {"since": since, "until": until, "bounds": list(latency.BOUNDS_MS)})
        for minute, connector, workflow, customer, ok, bucket, count, duration in cursor.fetchall():
            row = rows.setdefault((minute, connector, workflow, customer), _Row())
            row.calls += count
            if not ok:
                row.errors += count
            row.duration_sum_ms += float(duration or 0)
            row.buckets[min(bucket, latency.BUCKETS - 1)] += count
    with transaction.atomic():
        CallMinute.objects.filter(minute__gte=since, minute__lt=until).delete()
        CallMinute.objects.bulk_create(
            CallMinute(
                minute=minute,
                connector_slug=connector,
                workflow_slug=workflow,
                customer_external_id=customer,
                calls=row.calls,
                errors=row.errors,
                duration_sum_ms=row.duration_sum_ms,
                duration_buckets=row.buckets,
            )
            for (minute, connector, workflow, customer), row in rows.items()
        )
    return len(rows)


def call_rollup_prune(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=settings.FASTN_ROLLUP_RETENTION_DAYS)
    return CallMinute.objects.filter(minute__lt=cutoff).delete()[0]


def call_minutes(
    *,
    since: datetime,
    until: datetime | None = None,
    connectors: Iterable[str] | None = None,
    workflow: str = "",
    customer: str = "",
) -> QuerySet:
    """Rollup rows of the minutes in [since, until), optionally narrowed."""
    rows = CallMinute.objects.filter(minute__gte=_floor(since))
    if until is not None:
        rows = rows.filter(minute__lt=until)
    if connectors is not None:
        rows = rows.filter(connector_slug__in=list(connectors))
    if workflow:
        rows = rows.filter(workflow_slug=workflow)
    if customer:
        rows = rows.filter(customer_external_id=customer)
    return rows.order_by("minute")
