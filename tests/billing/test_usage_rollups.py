"""Rollups copy the Redis counters into PostgreSQL every minute, idempotently."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

pytestmark = pytest.mark.django_db

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 10, 12, 0, 10, tzinfo=UTC)


def _rows(in_org, org):
    from apps.metering.models import UsageRollup

    in_org(org)
    return {
        (r.meter, r.period, r.window_start, r.customer_external_id): (r.used, r.rejected, r.day)
        for r in UsageRollup.objects.all()
    }


def test_rollups_match_the_counters(api, quota_org, customer_in, in_org, redis_counter):
    from apps.billing.quotas import day_window, minute_window
    from apps.billing.services import quota_consume, quota_levels_set, usage_rollup

    org = quota_org({"api_calls_per_minute": 4}, timezone_name="Asia/Tokyo")
    customer_in(org, "c1")
    customer_in(org, "c2")
    with time_machine.travel(T0, tick=False) as traveller:
        for customer in ("c1", "c1", "c2", None, None, None):
            api(org, customer=customer).get("/api/v1/customers")
        traveller.move_to(T0 + dt.timedelta(minutes=1))
        api(org, customer="c2").get("/api/v1/customers")
        in_org(org)
        for _ in range(3):
            quota_consume(organization=org.organization, meter="executions", customer_external_id="c1")
        quota_consume(organization=org.organization, meter="events")
        quota_levels_set(organization=org.organization, meter="connections", organization_value=5, customers={"c1": 3})
        in_org(org)
        usage_rollup(organization=org.organization)
        now = T0.timestamp() + 60

    rows = _rows(in_org, org)
    first, second = minute_window(T0.timestamp()), minute_window(now)
    day = day_window(now, "Asia/Tokyo")
    local_day = dt.date(2026, 3, 10)  # 12:00 UTC is 21:00 in Tokyo
    expected = {
        ("api_calls", "minute", first.start_datetime, ""): (4, 2, local_day),
        ("api_calls", "minute", first.start_datetime, "c1"): (2, 0, local_day),
        ("api_calls", "minute", first.start_datetime, "c2"): (1, 0, local_day),
        ("api_calls", "minute", second.start_datetime, ""): (1, 0, local_day),
        ("api_calls", "minute", second.start_datetime, "c2"): (1, 0, local_day),
        ("api_calls", "day", day.start_datetime, ""): (5, 0, local_day),
        ("api_calls", "day", day.start_datetime, "c1"): (2, 0, local_day),
        ("api_calls", "day", day.start_datetime, "c2"): (2, 0, local_day),
        ("executions", "day", day.start_datetime, ""): (3, 0, local_day),
        ("executions", "day", day.start_datetime, "c1"): (3, 0, local_day),
        ("events", "minute", second.start_datetime, ""): (1, 0, local_day),
        ("events", "day", day.start_datetime, ""): (1, 0, local_day),
    }
    assert rows == expected
    # Each rolled-up value is exactly the counter in Redis.
    for (meter, period, start, customer), (used, rejected, _) in rows.items():
        token = (minute_window(start.timestamp()) if period == "minute" else day).token
        field = f"c:{customer}" if customer else "o"
        assert redis_counter(org, meter, token, field) == used
        assert redis_counter(org, meter, token, f"r:{field}") == rejected

    from apps.metering.models import UsageLevel

    levels = {(lv.meter, lv.customer_external_id): lv.value for lv in UsageLevel.objects.all()}
    assert levels == {("connections", ""): 5, ("connections", "c1"): 3}


def test_running_a_rollup_twice_changes_nothing(api, make_org, in_org):
    from apps.billing.services import usage_rollup

    org = make_org()
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            api(org).get("/api/v1/customers")
        in_org(org)
        usage_rollup(organization=org.organization)
        first = _rows(in_org, org)
        usage_rollup(organization=org.organization)
        assert _rows(in_org, org) == first
        api(org).get("/api/v1/customers")
        in_org(org)
        usage_rollup(organization=org.organization)
    assert _rows(in_org, org)[("api_calls", "day", dt.datetime(2026, 3, 10, tzinfo=UTC), "")][0] == 4


def test_a_rollup_never_lowers_what_was_recorded(api, make_org, in_org):
    """Counters lost with Redis (a flush, a failover) must not erase usage already rolled up."""
    from apps.billing import counters
    from apps.billing.services import usage_rollup

    org = make_org()
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            api(org).get("/api/v1/customers")
        in_org(org)
        usage_rollup(organization=org.organization)
        counters.delete_organization_counters(org.organization.pk)
        api(org).get("/api/v1/customers")
        in_org(org)
        usage_rollup(organization=org.organization)
    assert _rows(in_org, org)[("api_calls", "day", dt.datetime(2026, 3, 10, tzinfo=UTC), "")][0] == 3


def test_a_missed_minute_is_caught_up_by_the_next_rollup(api, make_org, in_org):
    from apps.billing.services import usage_rollup

    org = make_org()
    with time_machine.travel(T0, tick=False) as traveller:
        api(org).get("/api/v1/customers")
        traveller.move_to(T0 + dt.timedelta(minutes=3))
        in_org(org)
        usage_rollup(organization=org.organization)
    rows = _rows(in_org, org)
    assert rows[("api_calls", "minute", dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC), "")][0] == 1


def test_the_beat_task_rolls_up_every_organization_in_its_own_schema(api, make_org, in_org):
    from apps.billing.tasks import usage_rollup_all
    from apps.core.models import Organization

    first, second = make_org(), make_org()
    with time_machine.travel(T0, tick=False):
        api(first).get("/api/v1/customers")
        for _ in range(2):
            api(second).get("/api/v1/customers")
        stats = usage_rollup_all.apply().get()
    day = dt.datetime(2026, 3, 10, tzinfo=UTC)
    assert _rows(in_org, first)[("api_calls", "day", day, "")][0] == 1
    assert _rows(in_org, second)[("api_calls", "day", day, "")][0] == 2
    assert stats["failed"] == 0
    assert stats["organizations"] == Organization.objects.filter(is_template=False).count()


def test_one_organizations_failure_does_not_stop_the_others(api, make_org, in_org, monkeypatch, caplog):
    from apps.billing import services

    first, second = make_org(), make_org()
    real = services.usage_rollup

    def flaky(*, organization, now=None):
        if organization.pk == first.organization.pk:
            raise RuntimeError("boom")
        return real(organization=organization, now=now)

    monkeypatch.setattr(services, "usage_rollup", flaky)
    with time_machine.travel(T0, tick=False):
        api(second).get("/api/v1/customers")
        stats = services.usage_rollup_all()
    assert stats["failed"] == 1
    assert "Usage rollup failed for " + first.slug in caplog.text
    assert _rows(in_org, second)[("api_calls", "day", dt.datetime(2026, 3, 10, tzinfo=UTC), "")][0] == 1


def test_old_minute_rollups_are_pruned(make_org, in_org):
    from apps.billing.services import usage_prune
    from apps.metering.models import UsageRollup

    org = make_org()
    in_org(org)
    old = dt.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    UsageRollup.objects.create(meter="api_calls", period="minute", window_start=old, day=old.date(), used=1)
    UsageRollup.objects.create(meter="api_calls", period="day", window_start=old, day=old.date(), used=1)
    usage_prune(now=T0.timestamp())
    assert list(UsageRollup.objects.values_list("period", flat=True)) == ["day"]


def test_the_rollup_is_scheduled_every_minute_by_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["billing-usage-rollup"]
    assert entry["task"] == "billing.usage_rollup_all"
    assert entry["schedule"] == 60.0
    from fastn.celery import app

    app.loader.import_default_modules()
    assert "billing.usage_rollup_all" in app.tasks


def test_beat_installs_the_schedule_in_its_database_scheduler(settings):
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import ModelEntry

    from fastn.celery import app

    # What DatabaseScheduler.setup_schedule does with app.conf.beat_schedule at start-up.
    for name, entry in app.conf.beat_schedule.items():
        ModelEntry.from_entry(name, app=app, **entry)
    task = PeriodicTask.objects.get(name="billing-usage-rollup")
    assert task.task == "billing.usage_rollup_all"
    assert task.interval.every == 60 and task.interval.period == "seconds"
    assert task.enabled
