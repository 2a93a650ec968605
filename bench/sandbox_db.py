"""What fastn.db costs: first use of a scope, then each query.

    .venv/bin/python bench/sandbox_db.py [--scopes 20] [--queries 2000]

Runs against its own database (fastn_bench) and drops what it creates.

- first use: role + schema creation + the first connection + one SELECT,
  for new scopes (role and schema creation measured apart too);
- per query: a primary-key SELECT and an INSERT on a warm pooled connection
  (statement policy, session reset + statement_timeout, the statement);
- the same SELECT on a bare psycopg connection, for comparison;
- a new connection per query, to show what the pool saves.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from common import record, setup_django


def ms(seconds: float) -> float:
    return seconds * 1000


def summary(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"| {name} | {len(timings)} | {statistics.mean(timings):.3f} | {statistics.median(timings):.3f} "
        f"| {p95:.3f} | {min(timings):.3f} | {max(timings):.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scopes", type=int, default=20)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    setup_django()

    import psycopg

    from apps.workflows.sandbox_db import SandboxScope, sandbox_drop_organization, sandbox_execute, sandbox_query
    from apps.workflows.sandbox_db.admin import server_params
    from apps.workflows.sandbox_db.hardening import database_setup
    from apps.workflows.sandbox_db.pool import get_pool, pool_reset, session_options
    from apps.workflows.sandbox_db.roles import sandbox_credentials

    database_setup()
    org_id = 900_000_000 + int(time.time()) % 1_000_000

    def deadline() -> float:
        return time.monotonic() + 30

    first_use, create_only = [], []
    scopes = []
    try:
        for _ in range(args.scopes):
            scope = SandboxScope(org_id, uuid.uuid4().hex)
            scopes.append(scope)
            start = time.perf_counter()
            sandbox_credentials(scope)
            created = time.perf_counter()
            sandbox_query(scope, "SELECT 1", [], deadline=deadline())
            first_use.append(ms(time.perf_counter() - start))
            create_only.append(ms(created - start))
        connect_only = [a - b for a, b in zip(first_use, create_only, strict=True)]

        scope = scopes[0]
        sandbox_execute(
            scope, "CREATE TABLE contacts (id bigserial PRIMARY KEY, name text, doc jsonb)", [], deadline=deadline()
        )
        sandbox_execute(
            scope,
            "INSERT INTO contacts (name, doc) "
            "SELECT 'n' || g, jsonb_build_object('g', g) FROM generate_series(1, 1000) g",
            [],
            deadline=deadline(),
        )
        select_sql = "SELECT id, name, doc FROM contacts WHERE id = $1"
        for i in range(50):  # warm-up
            sandbox_query(scope, select_sql, [i % 1000 + 1], deadline=deadline())
        selects = []
        for i in range(args.queries):
            start = time.perf_counter()
            sandbox_query(scope, select_sql, [i % 1000 + 1], deadline=deadline())
            selects.append(ms(time.perf_counter() - start))
        inserts = []
        for i in range(args.queries):
            start = time.perf_counter()
            sandbox_execute(
                scope, "INSERT INTO contacts (name, doc) VALUES ($1, $2)", [f"x{i}", {"i": i}], deadline=deadline()
            )
            inserts.append(ms(time.perf_counter() - start))
        pool_stats = get_pool().stats()

        credentials = sandbox_credentials(scope)
        bare = []
        with psycopg.connect(
            **server_params("default"),
            user=credentials.role,
            password=credentials.password,
            options=session_options(credentials.role),
            autocommit=True,
        ) as conn:
            for i in range(args.queries):
                start = time.perf_counter()
                conn.execute(select_sql.replace("$1", "%s"), [i % 1000 + 1]).fetchall()
                bare.append(ms(time.perf_counter() - start))

        no_pool = []
        for i in range(min(200, args.queries)):
            pool_reset()
            start = time.perf_counter()
            sandbox_query(scope, select_sql, [i % 1000 + 1], deadline=deadline())
            no_pool.append(ms(time.perf_counter() - start))
    finally:
        pool_reset()
        sandbox_drop_organization(org_id)

    rows = ["| step | n | mean ms | median ms | p95 ms | min ms | max ms |", "|---|---|---|---|---|---|---|"]
    rows.append(summary("first use of a scope: role + schema + connect + SELECT 1", first_use))
    rows.append(summary("  of which role + schema creation (superuser, one transaction)", create_only))
    rows.append(summary("  of which the first connection as the role + SELECT 1", connect_only))
    rows.append(summary("fastn.db.query: SELECT by primary key, pooled connection", selects))
    rows.append(summary("fastn.db.execute: INSERT with a jsonb parameter, pooled", inserts))
    rows.append(summary("same SELECT on a bare psycopg connection (no policy, no reset)", bare))
    rows.append(summary("fastn.db.query with a new connection every time (no pool)", no_pool))
    rows.append("")
    rows.append(f"Pool after the run: {pool_stats}.")
    rows.append("Each pooled call is two round trips: session reset + statement_timeout, then the statement.")
    record("fastn.db (bench/sandbox_db.py)", rows)


if __name__ == "__main__":
    main()
