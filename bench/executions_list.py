"""The executions list at scale: p95 of `GET /api/v1/executions` per filter, with N rows in one organization.

    .venv/bin/python bench/executions_list.py [--rows 10000000] [--samples 30] [--database NAME]

Creates (once) an organization holding `--rows` executions written with
COPY (not the ORM) — 50 workflows, 5,000 customers, statuses and tiers in
realistic proportions over 30 days; `wf-3` never times out, so
`status=timeout&workflow=wf-3` matches nothing — then times the API
(DRF view, selector, serializer; in process, no HTTP) for the default
filter, each filter, and combinations, first page and a deep page. Figures
are printed and appended to bench/RESULTS.md. Also reports the cost of one
execution INSERT with the table's indexes (write cost).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from common import record, setup_django

ORG_SLUG = "executions-list-bench"
WORKFLOWS = 50
CUSTOMERS = 5000
STATUSES = [("completed", 0.90), ("failed", 0.07), ("timeout", 0.005), ("running", 0.02), ("queued", 0.015)]
TIERS = [("instant", 0.6), ("standard", 0.35), ("long", 0.05)]
COLUMNS = (
    "id, workflow_slug, version_number, environment, tier, status, triggered_by, customer_external_id, "
    "attempts, max_attempts, timeout_ms, headers, logs, logs_truncated, created_at, started_at, finished_at, "
    "duration_ms, worker, steps"
)


def _pick(choices, r):
    acc = 0.0
    for value, weight in choices:
        acc += weight
        if r < acc:
            return value
    return choices[-1][0]


def _lines(count: int, seed: int = 7):
    rng = random.Random(seed)
    now = datetime.now(UTC)
    span = 30 * 24 * 3600
    for _ in range(count):
        workflow = f"wf-{min(int(rng.paretovariate(1.2)) - 1, WORKFLOWS - 1)}"
        status = _pick(STATUSES, rng.random())
        if workflow == "wf-3" and status == "timeout":
            status = "failed"
        tier = _pick(TIERS, rng.random())
        customer = "" if rng.random() < 0.2 else f"cust-{rng.randrange(CUSTOMERS)}"
        created = now - timedelta(seconds=rng.random() * span)
        started = created + timedelta(milliseconds=5)
        finished = "\\N" if status in ("running", "queued") else (started + timedelta(milliseconds=20)).isoformat()
        yield (
            f"{uuid.UUID(int=rng.getrandbits(128), version=4)}\t{workflow}\t1\tproduction\t{tier}\t{status}\twebhook\t"
            f"{customer}\t1\t1\t60000\t{{}}\t[]\tf\t{created.isoformat()}\t{started.isoformat()}\t{finished}\t20.0\tbench\t[]\n"
        )


def ensure_rows(rows: int) -> object:
    from django.db import connection

    from apps.core.models import Organization
    from apps.core.services import organization_create
    from apps.core.tenancy import organization_context
    from apps.workflows.models import Execution

    org = Organization.objects.filter(slug=ORG_SLUG).first()
    if org is None:
        org = organization_create(name="Executions list bench", owner_email="list@bench.test", plan_slug="unlimited")
        org = org.organization
    with organization_context(org):
        have = Execution.objects.count()
        if have < rows:
            missing = rows - have
            print(f"COPY {missing} executions into {org.schema_name} …", flush=True)
            started = time.monotonic()
            with connection.cursor() as cursor:
                raw = cursor.cursor
                batch = 200_000
                done = 0
                lines = _lines(missing, seed=have)
                while done < missing:
                    n = min(batch, missing - done)
                    buffer = io.StringIO("".join(next(lines) for _ in range(n)))
                    with raw.copy(f"COPY workflows_execution ({COLUMNS}) FROM STDIN") as copy:
                        while chunk := buffer.read(1 << 20):
                            copy.write(chunk)
                    done += n
                    print(f"  {have + done} rows, {time.monotonic() - started:.0f} s", flush=True)
                cursor.execute("ANALYZE workflows_execution")
    return org


QUERIES = [
    ("default (no filter)", ""),
    ("workflow=wf-0", "workflow=wf-0"),
    ("workflow=wf-40 (rare workflow)", "workflow=wf-40"),
    ("status=failed", "status=failed"),
    ("status=timeout", "status=timeout"),
    ("tier=long", "tier=long"),
    ("customer=cust-17", "customer=cust-17"),
    ("since=1 day ago", "since={day}"),
    ("workflow=wf-1&status=failed", "workflow=wf-1&status=failed"),
    ("status=timeout&workflow=wf-3 (matches nothing)", "status=timeout&workflow=wf-3"),
    ("workflow=wf-0&customer=cust-17", "workflow=wf-0&customer=cust-17"),
    ("status=failed&tier=long", "status=failed&tier=long"),
    ("status=timeout&customer=cust-17", "status=timeout&customer=cust-17"),
    ("workflow=wf-2&tier=standard&status=failed", "workflow=wf-2&tier=standard&status=failed"),
]


def measure(org, samples: int) -> list[str]:
    from rest_framework.test import APIClient

    from apps.accounts.principals import Principal
    from apps.core.tenancy import organization_context
    from apps.settings.services import api_key_create

    with organization_context(org):
        _, key = api_key_create(actor=Principal.system(organization=org, label="bench"), name="list", kind="live")
    client = APIClient()
    client.credentials(HTTP_X_FASTN_ACCESS_KEY=key, HTTP_X_FASTN_ACCOUNT_ID=str(org.account_id))
    day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        "| filter | p50 ms (first page) | p95 ms (first page) | rows | p95 ms (5th page) | empty page with cursor |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, query in QUERIES:
        url = "/api/v1/executions?limit=50" + ("&" + query.format(day=day) if query else "")
        times, deep, body = [], [], {}
        for _ in range(samples):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.content[:300]
            body = response.json()
        cursor = body.get("next_cursor")
        for _ in range(min(samples, 10)):
            page, token = 1, cursor
            start = time.perf_counter()
            while token and page < 5:
                token = client.get(url + "&cursor=" + token).json().get("next_cursor")
                page += 1
            deep.append((time.perf_counter() - start) * 1000 / max(page - 1, 1))
        empty = "yes" if not body["results"] and body.get("next_cursor") else ""
        p95 = statistics.quantiles(times, n=20)[-1]
        deep95 = statistics.quantiles(deep, n=20)[-1] if len(deep) > 1 else (deep[0] if deep else 0)
        median, found = statistics.median(times), len(body["results"])
        lines.append(f"| {label} | {median:.1f} | {p95:.1f} | {found} | {deep95:.1f} | {empty} |")
        print(lines[-1], flush=True)
    return lines


def insert_cost(org, count: int = 300) -> str:
    from django.db import connection

    from apps.core.tenancy import organization_context

    with organization_context(org), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND tablename = 'workflows_execution'",
            [org.schema_name],
        )
        indexes = cursor.fetchone()[0]
        lines = list(_lines(count, seed=random.randrange(1 << 30)))
        started = time.perf_counter()
        for line in lines:
            values = line.rstrip("\n").split("\t")
            values = [None if v == "\\N" else v for v in values]
            placeholders = ", ".join(["%s"] * len(values))
            cursor.execute(f"INSERT INTO workflows_execution ({COLUMNS}) VALUES ({placeholders})", values)  # noqa: S608
        per = (time.perf_counter() - started) * 1000 / count
    return f"One execution INSERT (autocommit, {indexes} indexes on the table): {per:.2f} ms mean over {count}."


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--database", default=os.environ.get("FASTN_BENCH_DATABASE", "fastn_h_perf_bench"))
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    setup_django(args.database)
    org = ensure_rows(args.rows)
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    lines = measure(org, args.samples)
    lines += ["", insert_cost(org), "", f"{args.rows:,} executions in one organization; load average {load}."]
    if args.no_record:
        print("\n".join(lines))
    else:
        record(f"Executions list at {args.rows:,} rows (bench/executions_list.py)", lines)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    sys.exit(main())
