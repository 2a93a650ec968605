"""Microseconds per quota check: the cost the API-call quota adds to every request.

    .venv/bin/python bench/quota_check.py [--count 5000]

Runs against its own database (fastn_bench, or DATABASE_URL) and its own
Redis key prefix, creates one organization on a plan of its own with a customer
in a tier and with limits of its own, times the check in the ways a request
pays for it, then deletes what it created.

What is timed, per check:
- `redis PING`: one bare round trip to Redis, the floor;
- `quota_consume`, organization only: the API-call meter's two windows;
- `quota_consume` with a customer: four counters (organization + customer,
  minute + day), the customer's limits from the process cache;
- `WithinQuota.has_permission`: the permission class every API request runs
  (header parsing, the check, the decision left on the request);
- the Python side alone, with Redis's answer canned: what the code costs on
  top of the round trip (on a loaded machine, the round trip dominates);
- Redis away, fail-open with the circuit breaker open: what a request pays
  during an outage.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid

os.environ.setdefault("FASTN_REDIS_PREFIX", f"fastn-bench-{uuid.uuid4().hex[:6]}")

from common import record, setup_django  # noqa: E402

LIMIT_US = 300.0


def timed(fn, count: int) -> list[float]:
    for _ in range(min(200, count)):  # warm: script loaded, connections open, caches filled
        fn()
    samples = []
    for _ in range(count):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def row(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

    return (
        f"| {name} | {len(samples)} | {statistics.mean(samples):.0f} | {pct(0.5):.0f} | {pct(0.95):.0f} "
        f"| {pct(0.99):.0f} |"
    )


class FakeRequest:
    """What WithinQuota reads of a DRF request."""

    def __init__(self, principal, customer: str | None):
        self.user = principal
        self.META = {"HTTP_X_FASTN_ACCOUNT_TENANT_ID": customer} if customer else {}
        self._request = type("HttpRequest", (), {})()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    setup_django()

    from django.conf import settings
    from django.db import connection

    from apps.accounts.models import User
    from apps.accounts.principals import Principal
    from apps.billing import counters, limits, services
    from apps.billing.models import Plan
    from apps.billing.permissions import WithinQuota
    from apps.billing.quotas import Meter
    from apps.core.models import Organization
    from apps.core.services import organization_create
    from apps.core.tenancy import organization_context

    run = uuid.uuid4().hex[:6]
    # Limits on every dimension (so every counter is checked), too high to be reached.
    plan = Plan.objects.create(
        slug=f"bench-{run}", name="Bench", limits={"api_calls_per_minute": 10**12, "api_calls_per_day": 10**12}
    )
    created = organization_create(
        name=f"Quota bench {run}",
        owner_email=f"quota-{run}@bench.test",
        plan_slug=plan.slug,
        timezone_name="Europe/Berlin",
    )
    organization = Organization.objects.select_related("plan").get(pk=created.organization.pk)
    try:
        with organization_context(organization):
            system = Principal.system(organization=organization, label="bench")
            from apps.settings.services import customer_create

            customer_create(actor=system, external_id="bench-customer", name="Bench", tier="gold")
            services.customer_tier_create(
                actor=system,
                slug="gold",
                name="Gold",
                limits={"api_calls_per_minute": 10**9, "api_calls_per_day": 10**9},
                enforcement={"api_calls_per_day": "soft"},
            )
            services.customer_limits_set(
                actor=system, external_id="bench-customer", limits={"api_calls_per_minute": 10**9}, enforcement={}
            )
            principal = Principal.for_api_key(
                organization=organization, api_key=type("Key", (), {"role": "admin", "id": "k", "name": "k"})()
            )
            redis_client = counters.client()
            permission = WithinQuota()
            count = args.count
            results = [
                ("redis PING (one round trip, the floor)", timed(redis_client.ping, count)),
                (
                    "quota_consume: organization (2 counters)",
                    timed(lambda: services.quota_consume(organization=organization, meter=Meter.API_CALLS), count),
                ),
                (
                    "quota_consume: organization + customer (4 counters)",
                    timed(
                        lambda: services.quota_consume(
                            organization=organization, meter=Meter.API_CALLS, customer_external_id="bench-customer"
                        ),
                        count,
                    ),
                ),
                (
                    "WithinQuota.has_permission (per API request, with a customer)",
                    timed(lambda: permission.has_permission(FakeRequest(principal, "bench-customer"), None), count),
                ),
            ]
            # The Python side alone: the script's answer canned, no round trip.
            real_consume = counters.consume
            canned = real_consume(
                services._checks_for(organization, Meter.API_CALLS, None, time.time())[1],
                1,
                counters.version_key(organization.pk),
            )
            counters.consume = lambda checks, amount, version_key: canned
            try:
                results.append(
                    (
                        "quota_consume: organization, Python only (Redis answer canned)",
                        timed(lambda: services.quota_consume(organization=organization, meter=Meter.API_CALLS), count),
                    )
                )
            finally:
                counters.consume = real_consume
            # Redis away: the circuit breaker is open, fail-open answers at once.
            settings.FASTN_QUOTA_REDIS_URL = "redis://127.0.0.1:1/0"
            settings.FASTN_QUOTA_REDIS_RETRY_SECONDS = 3600
            try:
                services.quota_consume(organization=organization, meter=Meter.API_CALLS)
                results.append(
                    (
                        "Redis away, fail-open (circuit breaker open)",
                        timed(lambda: services.quota_consume(organization=organization, meter=Meter.API_CALLS), count),
                    )
                )
            finally:
                settings.FASTN_QUOTA_REDIS_URL = ""
                services.reset_state()
            limits.clear()
    finally:
        counters.delete_organization_counters(organization.pk)
        connection.set_schema_to_public()
        organization.delete(force_drop=True)
        User.objects.filter(email__endswith="@bench.test").delete()
        plan.delete()

    per_request = statistics.mean(results[3][1])
    floor = statistics.mean(results[0][1])
    lines = [
        "| check | samples | mean µs | p50 µs | p95 µs | p99 µs |",
        "|---|---|---|---|---|---|",
        *[row(name, samples) for name, samples in results],
        "",
        f"Per API request the quota check costs {per_request:.0f} µs on average "
        f"({'within' if per_request <= LIMIT_US else 'OVER'} the {LIMIT_US:.0f} µs budget), of which a bare "
        f"Redis round trip is {floor:.0f} µs: one EVALSHA of the registered script, no SQL. "
        f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.",
    ]
    record("Quota check per request (bench/quota_check.py)", lines)
    if per_request > LIMIT_US:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
