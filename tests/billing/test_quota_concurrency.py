"""The Hard Block holds under real concurrency: many requests at once, several
server processes, one limit."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytestmark = pytest.mark.slow


def _wait_for_a_fresh_minute(needed_seconds: float = 8) -> None:
    """Start well inside a minute, so that the burst cannot straddle two windows."""
    left = 60 - (time.time() % 60)
    if left < needed_seconds:
        time.sleep(left + 0.2)


def test_fifty_concurrent_requests_against_a_limit_of_twenty_let_exactly_twenty_through(
    gunicorn_url, live_org, redis_counter
):
    org = live_org(plan="free")  # 20 API calls per minute, Hard Block
    headers = {"x-fastn-access-key": org.keys["live"], "x-fastn-account-id": org.account_id}
    # Warm both server processes' connections so the burst measures the quota, not start-up.
    with httpx.Client(base_url=gunicorn_url, timeout=30) as warm:
        assert warm.get("/api/v1/health").status_code in (200, 503)
    _wait_for_a_fresh_minute()
    minute = int(time.time() // 60)
    start = threading.Barrier(50)

    def call(_):
        with httpx.Client(base_url=gunicorn_url, timeout=30) as client:
            start.wait(timeout=30)
            return client.get("/api/v1/customers", headers=headers)

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(call, range(50)))

    assert int(time.time() // 60) == minute, "the burst straddled a minute boundary"
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 20
    assert statuses.count(429) == 30
    for response in responses:
        if response.status_code == 429:
            error = response.json()["error"]
            assert error["code"] == "quota_exceeded"
            assert error["details"]["dimension"] == "api_calls_per_minute"
            assert error["details"]["limit"] == 20 and error["details"]["used"] == 20
            assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert redis_counter(org, "api_calls", f"m{minute}") == 20
    assert redis_counter(org, "api_calls", f"m{minute}", "r:o") == 30
