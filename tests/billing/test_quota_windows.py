"""Windows: UTC minutes, the organization's local days (DST included), and the limits cache."""

from __future__ import annotations

import datetime as dt

import pytest

UTC = dt.UTC


def ts(*args) -> float:
    return dt.datetime(*args, tzinfo=UTC).timestamp()


def test_minute_windows_are_aligned_on_utc_minutes():
    from apps.billing.quotas import minute_window

    window = minute_window(ts(2026, 3, 10, 12, 0, 59, 999_000))
    assert window.start_datetime == dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert window.seconds_left(ts(2026, 3, 10, 12, 0, 59, 999_000)) == 1
    assert window.seconds_left(ts(2026, 3, 10, 12, 0, 0)) == 60


@pytest.mark.parametrize(
    "tz, instant, start, hours",
    [
        ("UTC", (2026, 3, 10, 23, 59), (2026, 3, 10, 0, 0), 24),
        ("America/New_York", (2026, 3, 10, 3, 0), (2026, 3, 9, 4, 0), 24),  # still the 9th locally (EDT, UTC-4)
        ("Asia/Kolkata", (2026, 3, 10, 18, 30), (2026, 3, 10, 18, 30), 24),  # exactly local midnight
        ("America/New_York", (2026, 3, 8, 12, 0), (2026, 3, 8, 5, 0), 23),  # spring forward: a 23-hour day
        ("Europe/Berlin", (2026, 10, 25, 12, 0), (2026, 10, 24, 22, 0), 25),  # fall back: a 25-hour day
    ],
)
def test_day_windows_run_from_local_midnight_to_local_midnight(tz, instant, start, hours):
    from apps.billing.quotas import day_window

    window = day_window(ts(*instant), tz)
    assert window.start_datetime == dt.datetime(*start, tzinfo=UTC)
    assert window.end - window.start == hours * 3600


def test_an_unknown_time_zone_counts_in_utc():
    from apps.billing.quotas import day_window

    assert day_window(ts(2026, 3, 10, 5, 0), "Mars/Olympus").start_datetime == dt.datetime(2026, 3, 10, tzinfo=UTC)


def test_month_bounds_follow_the_local_calendar():
    from apps.billing.quotas import month_bounds

    # 23:30 UTC on Jan 31 is already Feb 1 in Tokyo.
    assert month_bounds(ts(2026, 1, 31, 23, 30), "Asia/Tokyo") == (dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    assert month_bounds(ts(2026, 12, 15), "UTC") == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))


def test_every_dimension_belongs_to_one_meter_and_period():
    from apps.billing.quotas import DIMENSIONS, METER_DIMENSIONS, Dimension, Meter

    assert set(DIMENSIONS) == set(Dimension.values)
    assert sorted(d for dims in METER_DIMENSIONS.values() for d in dims) == sorted(Dimension.values)
    assert set(METER_DIMENSIONS) == set(Meter.values)


@pytest.mark.django_db
def test_limits_changed_in_another_process_apply_after_one_request(make_org, customer_in, in_org, system_actor, api):
    """Another process changes a tier: it bumps the version in Redis, which
    this process sees in its next quota check, and drops its cached limits."""
    from apps.billing import counters, limits
    from apps.metering.models import CustomerTier

    org = make_org()
    customer_in(org, "acme", tier="small")
    in_org(org)
    tier = CustomerTier.objects.create(slug="small", name="Small", limits={"api_calls_per_day": 1})
    client = api(org, customer="acme")
    assert client.get("/api/v1/customers").status_code == 200
    assert client.get("/api/v1/customers").status_code == 429

    # "Another process": the row changes without this process being told...
    in_org(org)
    tier.limits = {"api_calls_per_day": 100}
    tier.save()
    assert client.get("/api/v1/customers").status_code == 429  # still cached here
    # ...until that process announces it.
    counters.bump_version(org.organization.pk)
    assert client.get("/api/v1/customers").status_code == 429  # this check learns the new version
    assert client.get("/api/v1/customers").status_code == 200  # and the next one uses the new limits
    assert limits.cached_customer_limits(org.organization, "acme").get("api_calls_per_day")[0] == 100


@pytest.mark.django_db
def test_cached_limits_expire(make_org, customer_in, in_org, settings, monkeypatch):
    import time

    from apps.billing import limits
    from apps.metering.models import CustomerTier

    settings.FASTN_QUOTA_LIMITS_CACHE_SECONDS = 10
    org = make_org()
    customer_in(org, "acme", tier="small")
    in_org(org)
    assert limits.cached_customer_limits(org.organization, "acme").limits == {}
    CustomerTier.objects.create(slug="small", name="Small", limits={"events_per_day": 3})
    assert limits.cached_customer_limits(org.organization, "acme").limits == {}
    later = time.monotonic() + 11
    monkeypatch.setattr(limits.time, "monotonic", lambda: later)
    assert limits.cached_customer_limits(org.organization, "acme").get("events_per_day") == (3, "hard_block")
