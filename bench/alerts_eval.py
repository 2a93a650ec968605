"""Alert evaluation cost per minute at 1,000 rules (bench/alerts_eval.py).

One organization with an hour of per-minute rollups of a busy account —
50 workflows × 2 environments × 10 customers of execution rollups and
25 connectors × 10 workflows × 5 customers of call rollups, every minute —
and 1,000 enabled rules mixing every metric, windows of 5, 15 and 60
minutes and every scope shape. Each round is exactly what the minute's beat
task does for the organization after its rollups: `alerts_evaluate` (read
the rollups of the longest window once per source, compute every rule,
write states, insert events). Reported: wall time and queries per round.

    .venv/bin/python bench/alerts_eval.py [--rules 1000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from common import record, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    setup_django(os.environ.get("FASTN_BENCH_DB", "fastn_h_operate_bench"))

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.principals import Principal
    from apps.activity.models import AlertEvent, AlertRule
    from apps.activity.services import alert_rule_create, alerts_evaluate
    from apps.connectors.models import CallMinute
    from apps.core import latency
    from apps.core.models import Organization
    from apps.core.services import organization_create
    from apps.core.tenancy import organization_context
    from apps.workflows.models import ExecutionMinute

    organization = Organization.objects.filter(slug="alerts-bench").first()
    if organization is None:
        organization = organization_create(name="Alerts bench", owner_email="bench@alerts.test").organization
    rng = random.Random(5)
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    workflows = [f"flow-{i:02d}" for i in range(50)]
    connectors = [f"conn-{i:02d}" for i in range(25)]
    customers = [f"cust-{i}" for i in range(10)]
    with organization_context(organization):
        seeded_before = AlertRule.objects.count() == args.rules and ExecutionMinute.objects.exists()
    with organization_context(organization):
        if seeded_before:  # an earlier run seeded it: run the rounds again on the same data
            latest = ExecutionMinute.objects.order_by("-minute").values_list("minute", flat=True).first()
            now = latest.replace(second=30)
            AlertRule.objects.update(state="ok", clear_streak=0)
            AlertEvent.objects.all().delete()
        else:
            for model in (ExecutionMinute, CallMinute, AlertEvent, AlertRule):
                model.objects.all().delete()
        execution_rows, call_rows = [], []
        for offset in range(0 if seeded_before else 60):
            minute = now.replace(second=0) - timedelta(minutes=offset)
            for workflow in workflows:
                for environment in ("production", "staging"):
                    for customer in customers:
                        total = rng.randint(1, 20)
                        failed = rng.randint(0, total // 4)
                        buckets = latency.empty()
                        buckets[rng.randint(5, 15)] = total
                        execution_rows.append(ExecutionMinute(
                            minute=minute, workflow_slug=workflow, environment=environment,
                            customer_external_id=customer, tier="standard", total=total, completed=total - failed,
                            failed=failed, timeout=0, duration_sum_ms=total * 150.0, duration_buckets=buckets,
                        ))  # fmt: skip
            for connector in connectors:
                for workflow in workflows[:10]:
                    for customer in customers[:5]:
                        calls = rng.randint(1, 30)
                        buckets = latency.empty()
                        buckets[rng.randint(6, 18)] = calls
                        call_rows.append(CallMinute(
                            minute=minute, connector_slug=connector, workflow_slug=workflow,
                            customer_external_id=customer, calls=calls, errors=rng.randint(0, calls // 5),
                            duration_sum_ms=calls * 200.0, duration_buckets=buckets,
                        ))  # fmt: skip
        ExecutionMinute.objects.bulk_create(execution_rows, batch_size=5000)
        CallMinute.objects.bulk_create(call_rows, batch_size=5000)

        system = Principal.system(organization=organization, label="bench")
        metrics = [m for m, _ in AlertRule.Metric.choices]
        for i in range(0 if seeded_before else args.rules):
            shape = rng.random()
            if shape < 0.4:
                scope = {"workflow": rng.choice(workflows)}
            elif shape < 0.6:
                scope = {"workflow": rng.choice(workflows), "environment": "production"}
            elif shape < 0.85:
                scope = {"connector": rng.choice(connectors)}
                if rng.random() < 0.3:
                    scope["customer"] = rng.choice(customers[:5])
            elif shape < 0.95:
                scope = {"customer": rng.choice(customers)}
            else:
                scope = {}
            metric = rng.choice(metrics)
            threshold = {"error_rate": 20, "failure_count": 30, "throughput": 500}.get(metric, 1000)
            alert_rule_create(
                actor=system,
                data={
                    "name": f"rule {i}",
                    "metric": metric,
                    "scope": scope,
                    "operator": ">",
                    "threshold": threshold,
                    "window_seconds": rng.choice([300, 900, 3600]),
                    "channels": [],
                },  # fmt: skip
            )

        timings, cpu, queries = [], [], []
        for round_ in range(args.rounds):
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                began, began_cpu = time.perf_counter(), time.process_time()
                outcome = alerts_evaluate(now=now + timedelta(seconds=round_))
                timings.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
            queries.append(len(captured.captured_queries))
        execution_count, call_count = ExecutionMinute.objects.count(), CallMinute.objects.count()
        firing = AlertRule.objects.filter(state="firing").count()
    lines = [
        f"{args.rules} enabled rules ({firing} firing after the rounds); rollups: {execution_count:,} execution "
        f"rows and {call_count:,} call rows for the last 60 minutes. One round = "
        "`alerts_evaluate` for the organization, as the minute's beat task runs it after the rollups.",
        "",
        "| rounds | wall median ms | wall min ms | worker CPU median ms | queries per round | rules evaluated |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {args.rounds} | {statistics.median(timings):.0f} | {min(timings):.0f} | {statistics.median(cpu):.0f} "
        f"| {statistics.median(queries):.0f} | {outcome.rules} |",
        "",
        f"Evaluation cost per minute at {args.rules} rules: {statistics.median(cpu):.0f} ms of worker CPU "
        f"(median; wall {statistics.median(timings):.0f} ms, inflated by the shared machine's load of "
        f"{os.getloadavg()[0]:.0f} on 2 cores). The first round also writes the fired events.",
    ]
    record("Alert evaluation at 1,000 rules (bench/alerts_eval.py)", lines)


if __name__ == "__main__":
    main()
