"""A suspension made in one process applies in every other process within a
second, although each keeps organizations cached for 30 s.

Before: the other processes kept serving the suspended organization's API
keys from their cache until the 30 s TTL ran out."""

import time

import httpx
import pytest

from tests.conftest import gunicorn_server


def _statuses(url: str, org, count: int = 12) -> list[int]:
    headers = {"x-fastn-access-key": org.keys["live"], "x-fastn-account-id": org.account_id}
    with httpx.Client(base_url=url, timeout=60) as client:
        # New connections each time: gunicorn hands them to either worker process.
        return [
            client.get("/api/v1/customers", headers={**headers, "Connection": "close"}).status_code
            for _ in range(count)
        ]


@pytest.fixture(scope="module")
def cached_server(django_db_setup, django_db_blocker):
    with gunicorn_server(django_db_blocker, workers=2, threads=2, env={"FASTN_TENANT_CACHE_SECONDS": "30"}) as url:
        yield url


def test_a_suspension_reaches_every_process_within_a_second(cached_server, live_org, django_db_blocker):
    org = live_org()
    assert set(_statuses(cached_server, org)) == {200}  # both worker processes have it cached now

    with django_db_blocker.unblock():
        organization = org.organization
        organization.status = organization.Status.SUSPENDED
        organization.save(update_fields=["status"])
        suspended_at = time.monotonic()

    time.sleep(1.0)
    answers = _statuses(cached_server, org)
    assert set(answers) == {401}, answers
    assert time.monotonic() - suspended_at < 30  # far inside the cache's TTL

    with django_db_blocker.unblock():
        organization.status = organization.Status.ACTIVE
        organization.save(update_fields=["status"])
    time.sleep(1.0)
    assert set(_statuses(cached_server, org)) == {200}
