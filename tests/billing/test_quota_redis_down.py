"""When Redis is unreachable: fail-open (default) or fail-closed, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
import redis
import time_machine

from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def counters_on(settings, own_redis):
    """The quota counters on a Redis of the test's own, which it can stop."""
    settings.FASTN_QUOTA_REDIS_URL = own_redis.url
    settings.FASTN_QUOTA_REDIS_RETRY_SECONDS = 0  # no circuit breaker: every call tries Redis
    return own_redis


def _outage_audits(in_org, org):
    from apps.settings.models import AuditEvent

    in_org(org)
    return list(AuditEvent.objects.filter(action="quota.counters_unavailable"))


def test_fail_open_lets_calls_through_uncounted_and_audits_once_per_minute(api, quota_org, counters_on, in_org, caplog):
    org = quota_org({"api_calls_per_minute": 1})
    counters_on.stop()
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False) as traveller:
        responses = [api(org).get("/api/v1/customers") for _ in range(4)]
        assert [r.status_code for r in responses] == [200] * 4
        assert responses[0]["X-Fastn-Quota"] == "uncounted"
        (audit,) = _outage_audits(in_org, org)
        assert audit.outcome == "error" and audit.resource_type == "billing"
        assert audit.changes["fail_mode"] == "open"
        assert "quota counters unavailable" in caplog.text.lower()

        traveller.move_to(dt.datetime(2026, 3, 10, 9, 1, 5, tzinfo=UTC))
        assert api(org).get("/api/v1/customers").status_code == 200
        assert len(_outage_audits(in_org, org)) == 2


def test_the_outage_audit_is_once_per_minute_across_processes(api, quota_org, counters_on, in_org):
    from apps.billing import services

    org = quota_org({"api_calls_per_minute": 1})
    counters_on.stop()
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        api(org).get("/api/v1/customers")
        services.reset_state()  # another process: it has not seen the outage yet
        api(org).get("/api/v1/customers")
    assert len(_outage_audits(in_org, org)) == 1


def test_fail_closed_answers_503_with_retry_after(api, quota_org, counters_on, settings):
    settings.FASTN_QUOTA_FAIL_MODE = "closed"
    settings.FASTN_QUOTA_REDIS_RETRY_SECONDS = 3
    org = quota_org({"api_calls_per_minute": 100})
    counters_on.stop()
    response = api(org).get("/api/v1/customers")
    error = assert_error(response, 503, "quota_unavailable")
    assert response["Retry-After"] == "3"
    assert "retry" in error["message"].lower()
    # The circuit breaker answers at once without waiting for Redis again.
    assert_error(api(org).get("/api/v1/customers"), 503, "quota_unavailable")


def test_counting_resumes_when_redis_is_back(api, quota_org, counters_on):
    org = quota_org({"api_calls_per_minute": 1})
    counters_on.stop()
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        assert api(org).get("/api/v1/customers").status_code == 200
        counters_on.start()
        assert api(org).get("/api/v1/customers").status_code == 200
        assert api(org).get("/api/v1/customers").status_code == 429


@pytest.mark.parametrize("mode, status", [("open", 200), ("closed", 503)])
def test_any_redis_error_follows_the_fail_mode(api, quota_org, settings, monkeypatch, mode, status):
    from apps.billing import counters

    settings.FASTN_QUOTA_FAIL_MODE = mode

    def broken(*args, **kwargs):
        raise redis.ResponseError("OOM command not allowed when used memory > 'maxmemory'")

    monkeypatch.setattr(counters, "consume", broken)
    org = quota_org({"api_calls_per_minute": 100})
    assert api(org).get("/api/v1/customers").status_code == status


def test_usage_falls_back_to_the_rollups_when_redis_is_away(api, quota_org, counters_on, in_org):
    from apps.billing.services import usage_rollup

    org = quota_org({"api_calls_per_minute": 10})
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC), tick=False):
        for _ in range(3):
            api(org).get("/api/v1/customers")
        in_org(org)
        usage_rollup(organization=org.organization)
        counters_on.stop()
        response = api(org).get("/api/v1/usage")
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "rollup"
    assert body["quotas"]["api_calls_per_minute"]["used"] == 3
    assert body["quotas"]["api_calls_per_day"]["used"] == 3


def test_producers_fail_open_or_closed_through_the_service(quota_org, counters_on, settings, in_org):
    from apps.billing.exceptions import QuotaUnavailable
    from apps.billing.quotas import Meter
    from apps.billing.services import quota_consume

    org = quota_org({"events_per_minute": 1})
    in_org(org)
    counters_on.stop()
    decision = quota_consume(organization=org.organization, meter=Meter.EVENTS)
    assert decision.counted is False
    settings.FASTN_QUOTA_FAIL_MODE = "closed"
    with pytest.raises(QuotaUnavailable):
        quota_consume(organization=org.organization, meter=Meter.EVENTS)
