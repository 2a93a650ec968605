"""What one schedule tick, relay run and reaper run cost with many organizations.

    .venv/bin/python bench/ticks.py [--orgs 5000] [--busy 10] [--database NAME] [--drop]

Creates `--orgs` organizations by the template clone (schema only, in its own
database, default fastn_h_perf_ticks) of which `--busy` have a schedule due,
then times one run of each periodic job two ways:

- before: walk every organization's schema and run the job's work there
  (what the tasks did before apps/core/ticks.py);
- after: the jobs as they are (`tick_visit`: claim the organizations due in
  the public index, visit only those).

Query counts come from Django's query log. `--drop` drops the database at
the end (5,000 schemas are a lot of catalog for a shared server).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid

from common import record, setup_django


def create_orgs(count: int) -> list:
    from apps.billing.models import Plan
    from apps.core.models import Organization
    from apps.core.services import schema_name_for

    have = list(Organization.objects.filter(slug__startswith="tick-", is_template=False))
    plan = Plan.objects.get(slug="free")
    started = time.monotonic()
    run = uuid.uuid4().hex[:4]
    for i in range(len(have), count):
        org = Organization(
            name=f"Tick {run} {i}", slug=f"tick-{run}-{i}", schema_name=schema_name_for(f"t-{run}-{i}"), plan=plan
        )
        org.save(verbosity=0)
        have.append(org)
        if (i + 1) % 250 == 0:
            print(f"  {i + 1} organizations, {time.monotonic() - started:.0f} s", flush=True)
    return have[:count]


def make_busy(orgs: list, busy: int) -> None:
    """A scheduler trigger due now in `busy` organizations (rows written directly: no API)."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.tenancy import organization_context
    from apps.core.ticks import tick_mark
    from apps.settings.models import Environment
    from apps.triggers.models import Trigger
    from apps.workflows.models import Workflow

    past = timezone.now() - timedelta(seconds=5)
    for org in orgs[:busy]:
        with organization_context(org):
            Environment.objects.get_or_create(slug="production", defaults={"name": "Production"})
            workflow, _ = Workflow.objects.get_or_create(
                slug="tick",
                defaults={
                    "name": "tick",
                    "code": "export default async () => 1",
                    "tier": "standard",
                    "timeout_ms": 900_000,
                },
            )
            Trigger.objects.update_or_create(
                workflow=workflow,
                type="scheduler",
                defaults={"config": {"interval_seconds": 3600}, "environment": "production", "next_run_at": past},
            )
            tick_mark(kind="schedule", at=past)


def timed(label: str, call) -> tuple[str, float, int]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        call()
        elapsed = (time.perf_counter() - started) * 1000
    return label, elapsed, len(captured.captured_queries)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=5000)
    parser.add_argument("--busy", type=int, default=10)
    parser.add_argument("--database", default=os.environ.get("FASTN_TICKS_DATABASE", "fastn_h_perf_ticks"))
    parser.add_argument("--drop", action="store_true")
    args = parser.parse_args()
    setup_django(args.database)
    from apps.core.models import Organization
    from apps.core.tenancy import organization_context
    from apps.triggers import tasks as trigger_tasks
    from apps.triggers.services.events import events_relay
    from apps.triggers.services.scheduler import schedules_tick
    from apps.workflows import runner
    from apps.workflows import tasks as workflow_tasks

    orgs = create_orgs(args.orgs)
    make_busy(orgs, args.busy)

    def walk_all(work):
        def run():
            for organization in Organization.objects.filter(is_template=False).only("id", "schema_name", "slug"):
                with organization_context(organization):
                    work()

        return run

    rows = [
        timed("schedule tick, every schema (before)", walk_all(schedules_tick)),
        timed("event relay, every schema (before)", walk_all(events_relay)),
        timed("reaper, every schema (before)", walk_all(runner.executions_reap)),
    ]
    make_busy(orgs, args.busy)  # due again for the indexed run
    rows += [
        timed("schedule tick, due organizations (after)", trigger_tasks.tick_schedules),
        timed("event relay, due organizations (after)", trigger_tasks.relay_events),
        timed("reaper, due organizations (after)", workflow_tasks.reap_executions),
        timed("schedule tick again, nothing due (after)", trigger_tasks.tick_schedules),
    ]
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    lines = ["| run | ms | queries |", "|---|---:|---:|"]
    lines += [f"| {label} | {ms:.0f} | {queries} |" for label, ms, queries in rows]
    lines += [
        "",
        f"{len(orgs)} organizations (template clones), {args.busy} with a schedule due; "
        f"load average {load} on {os.cpu_count()} CPUs.",
    ]
    record(f"Periodic ticks with {len(orgs):,} organizations (bench/ticks.py)", lines)
    if args.drop:
        from django.db import connections

        connections.close_all()
        import psycopg

        url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    sys.exit(main())
