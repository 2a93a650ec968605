"""`quota_consume`: the service triggers, executions, connections and storage call."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOON = dt.datetime(2026, 3, 10, 12, 0, 10, tzinfo=UTC)


@pytest.fixture
def consume(in_org):
    from apps.billing.services import quota_consume

    def call(org, meter, customer=None, amount=1):
        in_org(org)
        return quota_consume(organization=org.organization, meter=meter, customer_external_id=customer, amount=amount)

    return call


def test_each_accepted_event_is_one_event_with_per_minute_and_per_day_limits(quota_org, consume):
    from apps.billing.exceptions import QuotaExceeded

    org = quota_org({"events_per_minute": 10, "events_per_day": 500})
    with time_machine.travel(NOON, tick=False):
        decisions = [consume(org, "events") for _ in range(10)]
        with pytest.raises(QuotaExceeded) as blocked:
            consume(org, "events")
    assert [d.usages[0].used for d in decisions] == list(range(1, 11))
    assert {u.dimension for u in decisions[-1].usages} == {"events_per_minute", "events_per_day"}
    error = blocked.value
    assert (error.dimension, error.limit, error.used, error.retry_after) == ("events_per_minute", 10, 10, 50)
    assert error.status == 429 and error.headers["Retry-After"] == "50"


def test_events_per_day_block_until_local_midnight(quota_org, consume):
    from apps.billing.exceptions import QuotaExceeded

    org = quota_org({"events_per_day": 2}, timezone_name="Europe/Berlin")
    # 22:59:00 UTC is 23:59 in Berlin (CET, UTC+1).
    with time_machine.travel(dt.datetime(2026, 2, 1, 22, 59, 0, tzinfo=UTC), tick=False) as traveller:
        consume(org, "events")
        consume(org, "events")
        with pytest.raises(QuotaExceeded) as blocked:
            consume(org, "events")
        assert blocked.value.retry_after == 60
        traveller.move_to(dt.datetime(2026, 2, 1, 23, 0, 0, tzinfo=UTC))
        assert consume(org, "events").usages[0].used == 1


def test_executions_per_day_are_limited_per_customer_too(quota_org, consume, customer_in, system_actor, in_org):
    from apps.billing.exceptions import QuotaExceeded
    from apps.billing.services import customer_tier_create

    org = quota_org({"executions_per_day": 100})
    customer_in(org, "acme", tier="trial")
    in_org(org)
    customer_tier_create(
        actor=system_actor(org), slug="trial", name="Trial", limits={"executions_per_day": 2}, enforcement={}
    )
    with time_machine.travel(NOON, tick=False):
        consume(org, "executions", "acme")
        consume(org, "executions", "acme")
        with pytest.raises(QuotaExceeded) as blocked:
            consume(org, "executions", "acme")
        consume(org, "executions")  # the organization itself is far from its limit
    assert blocked.value.scope == "customer" and blocked.value.customer == "acme"
    assert blocked.value.dimension == "executions_per_day"


def test_connections_are_a_level_that_goes_up_and_down(quota_org, consume, in_org):
    from apps.billing.exceptions import QuotaExceeded
    from apps.billing.services import quota_release

    org = quota_org({"connections": 2})
    consume(org, "connections")
    consume(org, "connections")
    with pytest.raises(QuotaExceeded) as blocked:
        consume(org, "connections")
    assert blocked.value.retry_after is None  # waiting does not help: delete a connection
    assert "Retry-After" not in blocked.value.headers
    quota_release(organization=org.organization, meter="connections")
    assert consume(org, "connections").usages[0].used == 2
    # Never below zero, whatever is released.
    quota_release(organization=org.organization, meter="connections", amount=10)
    assert consume(org, "connections").usages[0].used == 1


def test_storage_counts_bytes_and_can_be_reconciled(quota_org, consume, in_org, api):
    from apps.billing.exceptions import QuotaExceeded
    from apps.billing.services import quota_levels_set, quota_release

    org = quota_org({"storage_bytes": 1000})
    consume(org, "storage_bytes", amount=600)
    with pytest.raises(QuotaExceeded) as blocked:
        consume(org, "storage_bytes", amount=500)
    assert (blocked.value.used, blocked.value.limit) == (600, 1000)
    quota_release(organization=org.organization, meter="storage_bytes", amount=100)
    assert consume(org, "storage_bytes", amount=500).usages[0].used == 1000
    quota_levels_set(organization=org.organization, meter="storage_bytes", organization_value=42, customers={"c1": 7})
    usage = api(org).get("/api/v1/usage").json()
    assert usage["usage"]["storage_bytes"] == 42
    assert usage["quotas"]["storage_bytes"]["used"] == 42


def test_soft_and_notify_decisions_say_what_is_exceeded(quota_org, consume):
    org = quota_org(
        {"events_per_minute": 1, "events_per_day": 1},
        enforcements={"events_per_minute": "soft", "events_per_day": "notify"},
    )
    with time_machine.travel(NOON, tick=False):
        first = consume(org, "events")
        second = consume(org, "events")
    assert first.soft_exceeded == () and first.notify_exceeded == ()
    assert second.soft_exceeded == ("events_per_minute",)
    assert second.notify_exceeded == ("events_per_day",)
    assert second.headers()["X-Fastn-Quota-Soft"] == "events_per_minute"


def test_unlimited_dimensions_are_still_counted(make_org, consume):
    org = make_org(plan="unlimited")
    with time_machine.travel(NOON, tick=False):
        for _ in range(3):
            decision = consume(org, "executions")
    (usage,) = decision.usages
    assert usage.limit is None and usage.used == 3 and not usage.exceeded


def test_bad_meters_and_amounts_are_refused(make_org, consume):
    from apps.billing.services import quota_release

    org = make_org()
    with pytest.raises(ValueError):
        consume(org, "bananas")
    with pytest.raises(ValueError):
        consume(org, "events", amount=0)
    with pytest.raises(ValueError):
        consume(org, "events", amount=-1)
    with pytest.raises(ValueError):
        quota_release(organization=org.organization, meter="events")


def test_a_limit_of_zero_blocks_everything(quota_org, consume):
    from apps.billing.exceptions import QuotaExceeded

    org = quota_org({"events_per_day": 0})
    with time_machine.travel(NOON, tick=False), pytest.raises(QuotaExceeded) as blocked:
        consume(org, "events")
    assert blocked.value.used == 0 and blocked.value.limit == 0


def test_window_counters_expire_after_their_window_and_levels_do_not(quota_org, consume):
    from apps.billing import counters
    from apps.billing.quotas import day_window, minute_window

    org = quota_org({"api_calls_per_minute": 100})
    now = dt.datetime.now(UTC).timestamp()
    with time_machine.travel(now, tick=False):
        consume(org, "api_calls")
        consume(org, "api_calls")
        consume(org, "connections")
    client = counters.client()
    minute_ttl = client.ttl(counters.hash_key(org.organization.pk, "api_calls", minute_window(now).token))
    day_ttl = client.ttl(counters.hash_key(org.organization.pk, "api_calls", day_window(now, "UTC").token))
    assert counters.MINUTE_KEEP_SECONDS < minute_ttl <= counters.MINUTE_KEEP_SECONDS + 60
    assert counters.DAY_KEEP_SECONDS < day_ttl <= counters.DAY_KEEP_SECONDS + 86_400
    assert client.ttl(counters.hash_key(org.organization.pk, "connections", "t")) == -1
