"""Per-minute rollups of finished executions (`ExecutionMinute`): written and read.

`execution_rollup` runs every minute from beat (apps.activity's minute
task), in each organization's schema. It recomputes the minutes from
`since` on from the executions themselves — one aggregate over the
`execution_finished` index range — and replaces those minutes' rows in one
transaction. Recomputing a few past minutes each time counts executions
whose transaction committed after their minute was first rolled up, and
makes the job idempotent. Nothing here touches the run's hot path.

Readers (Home, Alerts, their sparklines) call `execution_minutes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.core import latency
from apps.workflows.models import ExecutionMinute

ROLLUP_SQL = """
SELECT date_trunc('minute', finished_at) AS minute, workflow_slug, environment,
       customer_external_id, tier, status,
       width_bucket(COALESCE(duration_ms, 0), %(bounds)s::float8[]) AS bucket,
       count(*), COALESCE(sum(duration_ms), 0)
  FROM workflows_execution
 WHERE finished_at >= %(since)s AND finished_at < %(until)s
   AND status IN ('completed', 'failed', 'timeout')
 GROUP BY 1, 2, 3, 4, 5, 6, 7
"""


def minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@dataclass
class _Row:
    total: int = 0
    completed: int = 0
    failed: int = 0
    timeout: int = 0
    duration_sum_ms: float = 0.0
    buckets: list[int] = field(default_factory=latency.empty)


def execution_rollup(*, since: datetime, until: datetime | None = None) -> int:
    """Recompute the current organization's rollup rows for the minutes in
    [since, until) (whole minutes). Returns the number of rows written."""
    since = minute_floor(since)
    until = minute_floor(until or timezone.now()) + timedelta(minutes=1)
    rows: dict[tuple, _Row] = {}
    with connection.cursor() as cursor:
        cursor.execute(ROLLUP_SQL, {"since": since, "until": until, "bounds": list(latency.BOUNDS_MS)})
        for minute, workflow, environment, customer, tier, status, bucket, count, duration in cursor.fetchall():
            row = rows.setdefault((minute, workflow, environment, customer or "", tier), _Row())
            row.total += count
            setattr(row, status, getattr(row, status) + count)
            row.duration_sum_ms += float(duration)
            row.buckets[min(bucket, latency.BUCKETS - 1)] += count
    with transaction.atomic():
        ExecutionMinute.objects.filter(minute__gte=since, minute__lt=until).delete()
        ExecutionMinute.objects.bulk_create(
            ExecutionMinute(
                minute=minute,
                workflow_slug=workflow,
                environment=environment,
                customer_external_id=customer,
                tier=tier,
                total=row.total,
                completed=row.completed,
                failed=row.failed,
                timeout=row.timeout,
                duration_sum_ms=row.duration_sum_ms,
                duration_buckets=row.buckets,
            )
            for (minute, workflow, environment, customer, tier), row in rows.items()
        )
    return len(rows)


def execution_rollup_prune(*, now: datetime | None = None) -> int:
    """Drop rollup rows older than FASTN_ROLLUP_RETENTION_DAYS."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.FASTN_ROLLUP_RETENTION_DAYS)
    return ExecutionMinute.objects.filter(minute__lt=cutoff).delete()[0]


def execution_minutes(
    *,
    since: datetime,
    until: datetime | None = None,
    workflows: Iterable[str] | None = None,
    environment: str = "",
    customer: str = "",
) -> QuerySet:
    """Rollup rows of the minutes in [since, until), optionally narrowed."""
    rows = ExecutionMinute.objects.filter(minute__gte=minute_floor(since))
    if until is not None:
        rows = rows.filter(minute__lt=until)
    if workflows is not None:
        rows = rows.filter(workflow_slug__in=list(workflows))
    if environment:
        rows = rows.filter(environment=environment)
    if customer:
        rows = rows.filter(customer_external_id=customer)
    return rows.order_by("minute")
