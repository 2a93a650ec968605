"""Milliseconds to create an organization (schema + owner + keys), over 20.

    .venv/bin/python bench/tenant_create.py [--count 20] [--compare-migrate]

Runs against its own database (fastn_bench) and deletes what it creates.
`--compare-migrate` also times creation by running every migration instead of
cloning the template schema.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from common import record, setup_django


def schemas_only(count: int) -> list[float]:
    """Organization rows alone: schema creation without owner, keys or audit."""
    from apps.billing.models import Plan
    from apps.core.models import Organization
    from apps.core.services import schema_name_for

    plan = Plan.objects.get(slug="free")
    run = uuid.uuid4().hex[:6]
    timings, created = [], []
    for i in range(count):
        org = Organization(
            name=f"Schema {run} {i}", slug=f"schema-{run}-{i}", schema_name=schema_name_for(f"s-{run}-{i}"), plan=plan
        )
        start = time.perf_counter()
        org.save(verbosity=0)
        timings.append((time.perf_counter() - start) * 1000)
        created.append(org)
    for org in created:
        org.delete(force_drop=True)
    return timings


def create_many(count: int, label: str, *, existing_owner: bool = False) -> list[float]:
    """organization_create timings; `existing_owner`: the owner is a user already
    (an operator's second organization, or an invited owner): no password hash."""
    from apps.accounts.models import User
    from apps.core.models import Organization
    from apps.core.services import organization_create

    run = uuid.uuid4().hex[:6]
    timings = []
    created = []
    if existing_owner:
        User.objects.create_user(email=f"bench-owner-{run}@bench.test", password="x" * 16)
    for i in range(count):
        email = f"bench-owner-{run}@bench.test" if existing_owner else f"bench-{run}-{i}@bench.test"
        start = time.perf_counter()
        result = organization_create(name=f"Bench {label} {run} {i}", owner_email=email)
        timings.append((time.perf_counter() - start) * 1000)
        created.append(result.organization.pk)
    for org in Organization.objects.filter(pk__in=created):
        org.delete(force_drop=True)
    from apps.accounts.models import User

    User.objects.filter(email__endswith="@bench.test").delete()
    return timings


def summary(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"| {name} | {len(timings)} | {statistics.mean(timings):.0f} | {statistics.median(timings):.0f} "
        f"| {p95:.0f} | {min(timings):.0f} | {max(timings):.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--compare-migrate", action="store_true")
    parser.add_argument("--database", default="fastn_bench")
    args = parser.parse_args()
    setup_django(args.database)
    from django.test.utils import override_settings

    rows = ["| mode | orgs | mean ms | median ms | p95 ms | min ms | max ms |", "|---|---|---|---|---|---|---|"]
    rows.append(summary("schema only, cloned from the template", schemas_only(args.count)))
    rows.append(
        summary("organization_create (clone + new owner + environments + 2 keys)", create_many(args.count, "clone"))
    )
    rows.append(
        summary(
            "organization_create, owner already a user (no password hash)",
            create_many(args.count, "owner", existing_owner=True),
        )
    )
    if args.compare_migrate:
        with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
            rows.append(summary("schema only, every migration run", schemas_only(args.count)))
            rows.append(summary("organization_create, every migration run", create_many(args.count, "migrate")))
    rows.append("")
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    rows.append(
        "A new owner's password hash (PBKDF2, Django's default cost) is about 300 ms of organization_create "
        f"on a quiet machine; the third row is the same call without it. Load average {load}."
    )
    record("Organization creation (bench/tenant_create.py)", rows)


if __name__ == "__main__":
    main()
