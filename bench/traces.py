"""Activity → Traces at 10 M call traces: p95 of a page per filter.

Fills one organization's `connectors_calltrace` with N rows (default
10,000,000; `--rows`), generated inside PostgreSQL (`generate_series`, one
statement per million rows; streaming them by COPY from Python ran at about
a thousand rows a second on the shared, saturated machine) — indexes dropped
first and rebuilt after, as a restore would — spread over 30 days, 25 connectors with 5
actions each, 50 workflows, 1,000 customers, realistic status codes and
log-normal durations; one row in 100 carries a request/response detail.
Then, per filter of the Traces page, it reads the first page and four
following pages (keyset cursor) through the product's selector
(`call_trace_page`, 50 rows) with random filter values, and reports p50/p95
of the page reads. Also: the minute's call rollup over that table, and the
per-connector chart read from rollups.

    .venv/bin/python bench/traces.py [--rows 10000000] [--samples 40]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from common import record, setup_django

CONNECTORS = [f"conn-{i:02d}" for i in range(25)]
ACTIONS = ["list", "get", "create", "update", "search"]
WORKFLOWS = [f"flow-{i:02d}" for i in range(50)]
STATUSES = [(200, 0.86), (201, 0.04), (204, 0.02), (400, 0.02), (401, 0.005), (404, 0.02), (429, 0.01),
            (500, 0.015), (502, 0.005), (None, 0.005)]  # fmt: skip
DAYS = 30


FILL_SQL = """
INSERT INTO connectors_calltrace (id, connector_slug, connector_version, action, method, url, status, ok,
    duration_ms, request_bytes, response_bytes, pages, attempts, error, error_code, origin, execution_id,
    connection_id, customer_id, workflow_slug, detail, created_at)
SELECT gen_random_uuid(), c.connector, 1, c.action, 'GET', 'https://api.example.com/' || c.action, c.status,
       c.status IS NOT NULL AND c.status < 400, c.duration, 120, 800, 1, 1,
       CASE WHEN c.status IS NULL OR c.status >= 400 THEN 'failed' ELSE '' END,
       CASE WHEN c.status IS NULL OR c.status >= 400 THEN 'http_error' ELSE '' END,
       'run', gen_random_uuid(), NULL,
       CASE WHEN random() < 0.7 THEN (%(customers)s::uuid[])[1 + floor(random() * %(customer_count)s)::int] END,
       CASE WHEN random() < 0.8 THEN 'flow-' || lpad(floor(random() * 50)::int::text, 2, '0') ELSE '' END,
       CASE WHEN c.i %% 100 = 0 THEN %(detail)s::jsonb END,
       %(start)s::timestamptz + (c.i * %(step)s) * interval '1 second'
  FROM (
    SELECT i,
           'conn-' || lpad(LEAST(floor(1 / power(random(), 1 / 1.2))::int - 1, 24)::text, 2, '0') AS connector,
           (ARRAY['list', 'get', 'create', 'update', 'search'])[1 + floor(random() * 5)::int] AS action,
           (SELECT s FROM (VALUES (200, 0.86), (201, 0.90), (204, 0.92), (400, 0.94), (401, 0.945), (404, 0.965),
                                  (429, 0.975), (500, 0.99), (502, 0.995), (NULL, 1.0)) AS w(s, upto)
             WHERE w.upto >= r ORDER BY w.upto LIMIT 1) AS status,
           GREATEST(1, exp(ln(120) + 0.9 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())))::int AS duration
      FROM (SELECT i, random() AS r FROM generate_series(%(first)s, %(last)s) AS i) AS g
  ) AS c
"""


def fill(cursor, rows: int, customers: list[str], now: datetime) -> float:
    """Generate the rows inside PostgreSQL, in batches of a million (one statement each).

    Rows are in time order (as a live table fills), so created_at is
    correlated with the heap; distributions as in the module docstring."""
    detail = json.dumps(
        {
            "request": {"headers": {"authorization": "[REDACTED]", "accept": "application/json"}, "body": None},
            "response": {
                "headers": {"content-type": "application/json"},
                "body": {"text": '{"id": 1}', "truncated": False},
            },
        }
    )
    began = time.monotonic()
    start = now - timedelta(days=DAYS)
    step = DAYS * 86400 / rows
    for first in range(0, rows, 1_000_000):
        cursor.execute(
            FILL_SQL,
            {
                "customers": customers,
                "customer_count": len(customers),
                "detail": detail,
                "start": start,
                "step": step,
                "first": first,
                "last": min(first + 1_000_000, rows) - 1,
            },  # fmt: skip
        )
        print(f"  {min(first + 1_000_000, rows):,} rows", flush=True)
    return time.monotonic() - began


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    setup_django("fastn_h_operate_bench")

    from django.db import connection

    from apps.connectors import rollups
    from apps.connectors.selectors import TraceFilters, call_trace_page
    from apps.core.models import Organization
    from apps.core.services import organization_create
    from apps.core.tenancy import organization_context
    from apps.settings.models import Customer

    organization = Organization.objects.filter(slug="traces-bench").first()
    if organization is None:
        organization = organization_create(name="Traces bench", owner_email="bench@traces.test").organization
    now = datetime.now(UTC)
    lines = []
    with organization_context(organization):
        if Customer.objects.count() < 1000:
            Customer.objects.bulk_create(
                [Customer(external_id=f"cust-{i}", name=f"Customer {i}") for i in range(1000)], ignore_conflicts=True
            )
        customers = {c.external_id: c for c in Customer.objects.all()}
        customer_ids = [str(c.pk) for c in customers.values()]
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM connectors_calltrace")
            present = cursor.fetchone()[0]
        if present < args.rows:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE connectors_calltrace")
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND tablename = 'connectors_calltrace' AND indexname NOT LIKE '%%pkey'"
                )
                indexes = cursor.fetchall()
                for name, _ in indexes:
                    cursor.execute(f'DROP INDEX "{name}"')
            with connection.cursor() as cursor:
                seconds = fill(cursor, args.rows, customer_ids, now)
            began = time.monotonic()
            with connection.cursor() as cursor:
                for _, definition in indexes:
                    cursor.execute(definition)
                cursor.execute("VACUUM ANALYZE connectors_calltrace")
            lines.append(
                f"Filled {args.rows:,} rows (generated inside PostgreSQL) in {seconds:.0f} s; {len(indexes)} "
                "indexes rebuilt and "
                f"analysed in {time.monotonic() - began:.0f} s."
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), pg_size_pretty(pg_total_relation_size('connectors_calltrace')), "
                "pg_size_pretty(pg_indexes_size('connectors_calltrace')) FROM connectors_calltrace"
            )
            count, total_size, index_size = cursor.fetchone()
        rng = random.Random(11)

        def customer():
            return customers[f"cust-{rng.randrange(1000)}"]

        def hours_ago(h):
            return now - timedelta(hours=h)

        cases = {
            "All (no filter)": lambda: TraceFilters(),
            "Success tab": lambda: TraceFilters(ok=True),
            "Error tab": lambda: TraceFilters(ok=False),
            "connector": lambda: TraceFilters(connector=rng.choice(CONNECTORS)),
            "connector + action": lambda: TraceFilters(connector=rng.choice(CONNECTORS), action=rng.choice(ACTIONS)),
            "workflow": lambda: TraceFilters(workflow=rng.choice(WORKFLOWS)),
            "customer": lambda: TraceFilters(customer=customer()),
            "status 404": lambda: TraceFilters(status=404),
            "status 5xx": lambda: TraceFilters(status_class=5),
            "latency ≥ 2 s": lambda: TraceFilters(min_ms=2000),
            "latency 100–150 ms": lambda: TraceFilters(min_ms=100, max_ms=150),
            "last hour": lambda: TraceFilters(since=hours_ago(1)),
            "a day a week ago": lambda: TraceFilters(since=hours_ago(7 * 24 + 24), until=hours_ago(7 * 24)),
            "Error tab + connector": lambda: TraceFilters(ok=False, connector=rng.choice(CONNECTORS)),
            "customer + connector": lambda: TraceFilters(customer=customer(), connector=rng.choice(CONNECTORS)),
            "workflow + status 5xx, last 24 h": lambda: TraceFilters(
                workflow=rng.choice(WORKFLOWS), status_class=5, since=hours_ago(24)
            ),
        }
        table = ["| filter | pages read | p50 ms | p95 ms | max ms |", "|---|---:|---:|---:|---:|"]
        worst = 0.0
        for name, make in cases.items():
            timings = []
            for _ in range(args.samples):
                filters = make()
                cursor_token = None
                for _page in range(5):
                    began = time.perf_counter()
                    page = call_trace_page(cursor=cursor_token, limit=50, filters=filters)
                    timings.append((time.perf_counter() - began) * 1000)
                    cursor_token = page.next_cursor
                    if cursor_token is None:
                        break
            worst = max(worst, pct(timings, 95))
            table.append(
                f"| {name} | {len(timings)} | {statistics.median(timings):.1f} | {pct(timings, 95):.1f} "
                f"| {max(timings):.1f} |"
            )
        began = time.perf_counter()
        rows = rollups.call_rollup(since=now - timedelta(minutes=3), until=now)
        rollup_ms = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        rollups.call_rollup(since=now - timedelta(hours=24), until=now)
        day_ms = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        chart_rows = list(rollups.call_minutes(since=now - timedelta(hours=24)).values_list("minute", "calls"))
        chart_ms = (time.perf_counter() - began) * 1000
    lines += [
        f"`connectors_calltrace`: {count:,} rows, {total_size} with indexes ({index_size} of indexes). "
        f"Each figure: the product's `call_trace_page` (50 rows, keyset) for {args.samples} random filter values, "
        "the first page and up to four following pages each; PostgreSQL 15 with 128 MB shared_buffers, "
        "on the shared 2-core machine.",
        "",
        *table,
        "",
        f"Worst p95 over the filters: {worst:.1f} ms.",
        f"The minute's call rollup (last 3 minutes, {rows} rows written): {rollup_ms:.1f} ms; a whole day "
        f"recomputed: {day_ms:.0f} ms; the 24-hour per-connector chart read from rollups "
        f"({len(chart_rows)} rows): {chart_ms:.1f} ms.",
    ]
    record("Activity → Traces at 10 M traces (bench/traces.py)", lines)


if __name__ == "__main__":
    main()
