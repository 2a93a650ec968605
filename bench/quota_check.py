"""Microseconds per quota check: the cost the API-call quota adds to every request.

    .venv/bin/python bench/quota_check.py [--count 5000] [--own-redis]

Runs against its own database (fastn_bench, or DATABASE_URL) and its own
Redis key prefix, creates one organization on a plan of its own with a
customer in a tier and with limits of its own, times the check the ways a
request pays for it, then deletes what it created. `--own-redis` starts a
private redis-server for the counters (FASTN_QUOTA_REDIS_URL), away from
other traffic on the shared one.

Per check it reports wall-clock µs (mean, p50, p95, p99), the CPU µs this
process spent, and the µs Redis spent running the script (INFO commandstats):
on a busy machine the wall clock also counts time spent waiting for a CPU,
the other two do not.

What is timed:
- `PING` on the connection the check uses: one bare round trip, the floor;
- `quota_consume`, organization only: the API-call meter's two windows;
- `quota_consume` with a customer: four counters (organization + customer,
  minute + day), the customer's limits from the process cache;
- `WithinQuota.has_permission`: what every API request runs (header
  parsing, the check with a customer, the decision left on the request);
- the Python side alone, Redis's answer canned: the code around the round trip;
- Redis away, fail-open with the circuit breaker open: a request during an outage.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass

os.environ.setdefault("FASTN_REDIS_PREFIX", f"fastn-bench-{uuid.uuid4().hex[:6]}")

from common import record, setup_django  # noqa: E402

LIMIT_US = 300.0


@dataclass
class Timing:
    name: str
    samples: list[float]  # wall µs per call
    cpu_us: float  # this thread's CPU µs per call
    redis_us: float | None  # Redis's µs per EVALSHA, when the check ran one

    def row(self) -> str:
        ordered = sorted(self.samples)

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

        redis_us = f"{self.redis_us:.0f}" if self.redis_us is not None else "—"
        return (
            f"| {self.name} | {len(ordered)} | {statistics.mean(ordered):.0f} | {pct(0.5):.0f} | {pct(0.95):.0f} "
            f"| {pct(0.99):.0f} | {self.cpu_us:.0f} | {redis_us} |"
        )


def evalsha_stats(client) -> tuple[int, int]:
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


def timed(name: str, fn, count: int, redis_client) -> Timing:
    for _ in range(min(200, count)):  # warm: script loaded, connections open, caches filled
        fn()
    calls_before, usec_before = evalsha_stats(redis_client)
    samples = []
    cpu_start = time.thread_time_ns()
    for _ in range(count):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1000)
    cpu_us = (time.thread_time_ns() - cpu_start) / 1000 / count
    calls_after, usec_after = evalsha_stats(redis_client)
    calls = calls_after - calls_before
    redis_us = (usec_after - usec_before) / calls if calls >= count else None
    return Timing(name, samples, cpu_us, redis_us)


class FakeRequest:
    """What WithinQuota reads of a DRF request."""

    def __init__(self, principal, customer: str | None):
        self.user = principal
        self.META = {"HTTP_X_FASTN_ACCOUNT_TENANT_ID": customer} if customer else {}
        self._request = type("HttpRequest", (), {})()


def start_own_redis() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--own-redis", action="store_true", help="counters on a private redis-server")
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
    from apps.settings.services import customer_create

    own_redis = None
    if args.own_redis:
        own_redis, settings.FASTN_QUOTA_REDIS_URL = start_own_redis()

    run = uuid.uuid4().hex[:6]
    # Limits on the API-call dimensions (so every counter is checked), too high to be reached.
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
    count = args.count
    try:
        with organization_context(organization):
            system = Principal.system(organization=organization, label="bench")
            customer_create(actor=system, external_id="bench-customer", name="Bench", tier="gold")
            services.customer_tier_create(
                actor=system,
                slug="gold",
                name="Gold",
                limits={"api_calls_per_minute": 10**12, "api_calls_per_day": 10**12},
                enforcement={"api_calls_per_day": "soft"},
            )
            services.customer_limits_set(
                actor=system, external_id="bench-customer", limits={"api_calls_per_minute": 10**12}, enforcement={}
            )
            api_key = type("Key", (), {"role": "admin", "id": "bench", "name": "bench", "prefix": "bench"})()
            principal = Principal.for_api_key(organization=organization, api_key=api_key)
            redis_client = counters.client()
            permission = WithinQuota()

            def ping():
                conn = counters._connection()
                conn.send_command("PING")
                return conn.read_response()

            def org_only():
                return services.quota_consume(organization=organization, meter=Meter.API_CALLS)

            def with_customer():
                return services.quota_consume(
                    organization=organization, meter=Meter.API_CALLS, customer_external_id="bench-customer"
                )

            def per_request():
                return permission.has_permission(FakeRequest(principal, "bench-customer"), None)

            results = [
                timed("PING on the same connection (one round trip, the floor)", ping, count, redis_client),
                timed("quota_consume: organization (2 counters)", org_only, count, redis_client),
                timed("quota_consume: organization + customer (4 counters)", with_customer, count, redis_client),
                timed("WithinQuota.has_permission: one API request with a customer", per_request, count, redis_client),
            ]

            # The Python side alone: the script's answer canned, no round trip.
            real_consume = counters.consume
            checks = services._checks_for(organization, Meter.API_CALLS, None, time.time())[1]
            canned = real_consume(checks, 1, counters.version_key(organization.pk))
            counters.consume = lambda checks, amount, version_key: canned
            try:
                results.append(
                    timed("quota_consume: organization, Python only (answer canned)", org_only, count, redis_client)
                )
            finally:
                counters.consume = real_consume

            # Redis away: the circuit breaker is open, fail-open answers at once.
            quota_url = settings.FASTN_QUOTA_REDIS_URL
            settings.FASTN_QUOTA_REDIS_URL = "redis://127.0.0.1:1/0"
            settings.FASTN_QUOTA_REDIS_RETRY_SECONDS = 3600
            try:
                org_only()  # trips the breaker (and logs the outage once)
                results.append(timed("Redis away, fail-open, circuit open", org_only, count, redis_client))
            finally:
                settings.FASTN_QUOTA_REDIS_URL = quota_url
                services.reset_state()
            limits.clear()
    finally:
        counters.delete_organization_counters(organization.pk)
        connection.set_schema_to_public()
        organization.delete(force_drop=True)
        User.objects.filter(email__endswith="@bench.test").delete()
        plan.delete()
        if own_redis is not None:
            own_redis.terminate()

    request = results[3]
    mean = statistics.mean(request.samples)
    median = statistics.median(request.samples)
    floor = statistics.median(results[0].samples)
    load = os.getloadavg()[0]
    lines = [
        f"Counters on {'a private redis-server' if args.own_redis else 'the shared Redis (REDIS_URL)'}; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs at the end.",
        "",
        "| check | samples | mean µs | p50 µs | p95 µs | p99 µs | CPU µs | Redis µs |",
        "|---|---|---|---|---|---|---|---|",
        *[timing.row() for timing in results],
        "",
        f"Per API request the quota check costs {mean:.0f} µs on average, {median:.0f} µs at the median "
        f"(budget {LIMIT_US:.0f} µs), of which a bare round trip to Redis is {floor:.0f} µs: one EVALSHA "
        f"of the registered script, no SQL; {request.cpu_us:.0f} µs of CPU here and "
        f"{request.redis_us or 0:.0f} µs in Redis.",
    ]
    record("Quota check per request (bench/quota_check.py)", lines)
    if median > LIMIT_US:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
