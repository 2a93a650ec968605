"""Schedules: cron and intervals in a time zone (DST included), the tick, missed runs, jitter, fan-out."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")


def _local(times):
    return [t.astimezone(BERLIN).strftime("%m-%d %H:%M %Z") for t in times]


def test_daily_cron_in_berlin_across_both_dst_changes():
    from apps.triggers.schedules import Schedule

    daily = Schedule(cron="30 2 * * *", timezone="Europe/Berlin")
    # Spring forward (29 March 2026): 02:30 does not exist; it runs when the clocks jump, once.
    spring = daily.upcoming(dt.datetime(2026, 3, 27, 12, 0, tzinfo=UTC), 3)
    assert _local(spring) == ["03-28 02:30 CET", "03-29 03:00 CEST", "03-30 02:30 CEST"]
    # Fall back (25 October 2026): 02:30 happens twice; a daily job runs once.
    autumn = daily.upcoming(dt.datetime(2026, 10, 24, 12, 0, tzinfo=UTC), 3)
    assert _local(autumn) == ["10-25 02:30 CEST", "10-26 02:30 CET", "10-27 02:30 CET"]
    assert autumn[1] - autumn[0] == dt.timedelta(hours=25)


def test_sub_hourly_cron_keeps_its_rhythm_in_elapsed_time():
    from apps.triggers.schedules import Schedule

    every_quarter = Schedule(cron="*/15 * * * *", timezone="Europe/Berlin")
    spring = every_quarter.upcoming(dt.datetime(2026, 3, 29, 0, 40, tzinfo=UTC), 4)
    assert _local(spring) == ["03-29 01:45 CET", "03-29 03:00 CEST", "03-29 03:15 CEST", "03-29 03:30 CEST"]
    autumn = every_quarter.upcoming(dt.datetime(2026, 10, 25, 0, 40, tzinfo=UTC), 6)
    gaps = {b - a for a, b in zip(autumn, autumn[1:], strict=False)}
    assert gaps == {dt.timedelta(minutes=15)}  # through the repeated hour too


def test_intervals_and_validation():
    from apps.triggers.schedules import Schedule, ScheduleError, validate_cron, zone_for

    anchor = dt.datetime(2026, 1, 1, tzinfo=UTC)
    interval = Schedule(interval_seconds=90, anchor=anchor)
    assert interval.upcoming(anchor + dt.timedelta(seconds=100), 2) == [
        anchor + dt.timedelta(seconds=180),
        anchor + dt.timedelta(seconds=270),
    ]
    assert validate_cron(" */5  *   * * * ") == "*/5 * * * *"
    for bad in ("* * * *", "* * * * * *", "99 * * * *", "", "0 0 30 2 *"):
        with pytest.raises(ScheduleError):
            validate_cron(bad)
    with pytest.raises(ScheduleError):
        zone_for("Europe/Atlantis")


def test_jitter_is_stable_and_bounded():
    from apps.triggers.schedules import jitter_offset

    at = dt.datetime(2026, 1, 1, tzinfo=UTC)
    offsets = {jitter_offset(f"t-{i}", at, 30) for i in range(200)}
    assert min(offsets) >= 0 and max(offsets) <= 30 and len(offsets) > 10
    assert jitter_offset("t-1", at, 30) == jitter_offset("t-1", at, 30)
    assert jitter_offset("t-1", at, 0) == 0


# --- the tick, with the database ---------------------------------------------------------------------


def _tick(in_org, org):
    from apps.triggers.services.scheduler import schedules_tick

    in_org(org)
    return schedules_tick()


def _scheduled_events(trigger_id):
    from apps.triggers.models import Event

    return list(Event.objects.filter(trigger_id=trigger_id).order_by("received_at"))


@pytest.mark.django_db
def test_a_cron_schedule_fires_at_the_expected_times_through_spring_forward(org_a, setup, in_org):
    s = setup(org_a)
    with time_machine.travel(dt.datetime(2026, 3, 27, 12, 0, tzinfo=UTC), tick=False) as clock:
        trigger = s.trigger("scheduler", config={"cron": "30 2 * * *", "timezone": "Europe/Berlin"})
        assert trigger["next_runs"][:3] == ["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]
        fired = []
        for moment in (
            dt.datetime(2026, 3, 28, 1, 29, 50, tzinfo=UTC),  # 10 s early: nothing
            dt.datetime(2026, 3, 28, 1, 30, 5, tzinfo=UTC),
            dt.datetime(2026, 3, 28, 1, 30, 15, tzinfo=UTC),  # the next tick: already fired
            dt.datetime(2026, 3, 29, 1, 0, 10, tzinfo=UTC),  # 03:00 CEST, the jump
            dt.datetime(2026, 3, 30, 0, 30, 10, tzinfo=UTC),  # 02:30 CEST
        ):
            clock.move_to(moment)
            fired.append(_tick(in_org, org_a)["fired"])
        assert fired == [0, 1, 0, 1, 1]
    events = _scheduled_events(trigger["id"])
    assert [e.payload["scheduled_for"] for e in events] == [
        "2026-03-28T01:30:00Z",
        "2026-03-29T01:00:00Z",
        "2026-03-30T00:30:00Z",
    ]
    first = events[0].payload
    assert first["trigger_id"] == trigger["id"] and first["cron"] == "30 2 * * *"
    assert first["timezone"] == "Europe/Berlin" and first["catch_up"] is False
    assert first["fired_at"] == "2026-03-28T01:30:05Z"
    from apps.workflows.models import Execution

    execution = Execution.objects.get(event_id=events[0].id)
    assert execution.triggered_by == "scheduler" and execution.input == first


@pytest.mark.django_db
def test_two_ticks_at_once_fire_a_run_once(org_a, setup, in_org):
    from apps.triggers.models import Trigger
    from apps.triggers.services.scheduler import schedules_tick

    with time_machine.travel(dt.datetime(2026, 5, 1, 8, 0, tzinfo=UTC), tick=False) as clock:
        trigger = setup(org_a).trigger("scheduler", config={"interval_seconds": 60})
        clock.shift(61)
        in_org(org_a)
        stale = Trigger.objects.get(id=trigger["id"])
        assert schedules_tick()["fired"] == 1
        assert schedules_tick()["fired"] == 0  # the next beat at the same moment
        # A beat that read the row before the first one claimed it: its claim matches no row.
        claimed = Trigger.objects.filter(id=stale.id, next_run_at=stale.next_run_at).update(last_fired_at=None)
        assert claimed == 0
    assert len(_scheduled_events(trigger["id"])) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("policy", "expected"), [("skip", []), ("catch_up_once", ["2026-06-01T11:00:00Z"])])
def test_missed_runs_are_skipped_or_caught_up_once(org_a, setup, in_org, policy, expected):
    with time_machine.travel(dt.datetime(2026, 6, 1, 7, 30, tzinfo=UTC), tick=False) as clock:
        trigger = setup(org_a).trigger("scheduler", config={"cron": "0 * * * *", "timezone": "UTC", "missed": policy})
        clock.move_to(dt.datetime(2026, 6, 1, 11, 20, tzinfo=UTC))  # down since 08:00
        _tick(in_org, org_a)
        events = _scheduled_events(trigger["id"])
        assert [e.payload["scheduled_for"] for e in events] == expected
        if expected:
            assert events[0].payload["catch_up"] is True
        clock.move_to(dt.datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC))
        _tick(in_org, org_a)
    assert _scheduled_events(trigger["id"])[-1].payload["scheduled_for"] == "2026-06-01T12:00:00Z"


@pytest.mark.django_db
def test_jitter_delays_a_run_within_its_bound(org_a, setup, in_org):
    from apps.triggers.models import Trigger

    with time_machine.travel(dt.datetime(2026, 6, 2, 9, 0, tzinfo=UTC), tick=False):
        trigger = setup(org_a).trigger(
            "scheduler", config={"cron": "0 10 * * *", "timezone": "UTC", "jitter_seconds": 600}
        )
    in_org(org_a)
    row = Trigger.objects.get(id=trigger["id"])
    delay = (row.next_run_at - row.next_scheduled_for).total_seconds()
    assert 0 <= delay <= 600
    with time_machine.travel(row.next_run_at - dt.timedelta(seconds=1), tick=False):
        assert _tick(in_org, org_a)["fired"] == 0 if delay >= 1 else True
    with time_machine.travel(row.next_run_at + dt.timedelta(seconds=1), tick=False):
        assert _tick(in_org, org_a)["fired"] == 1
    assert _scheduled_events(trigger["id"])[0].payload["scheduled_for"] == "2026-06-02T10:00:00Z"


@pytest.mark.django_db
def test_fan_out_runs_once_per_customer(org_a, setup, in_org):
    s = setup(org_a)
    for name in ("fan-a", "fan-b"):
        s.customer(name)
    with time_machine.travel(dt.datetime(2026, 6, 3, 9, 0, tzinfo=UTC), tick=False) as clock:
        trigger = s.trigger(
            "scheduler", config={"interval_seconds": 300, "fan_out": "customers", "customers": ["fan-a", "fan-b"]}
        )
        one = s.trigger("scheduler", config={"interval_seconds": 300}, customer="fan-a")
        org_level = s.trigger("scheduler", config={"interval_seconds": 300})
        clock.shift(301)
        _tick(in_org, org_a)
    assert sorted(e.customer_external_id for e in _scheduled_events(trigger["id"])) == ["fan-a", "fan-b"]
    assert [e.customer_external_id for e in _scheduled_events(one["id"])] == ["fan-a"]
    assert [e.customer_external_id for e in _scheduled_events(org_level["id"])] == [""]
    from apps.workflows.models import Execution

    runs = Execution.objects.filter(event_id__in=[e.id for e in _scheduled_events(trigger["id"])])
    assert sorted(r.customer_external_id for r in runs) == ["fan-a", "fan-b"]


@pytest.mark.django_db
def test_a_disabled_schedule_does_not_fire(api, org_a, setup, in_org):
    with time_machine.travel(dt.datetime(2026, 6, 4, 9, 0, tzinfo=UTC), tick=False) as clock:
        trigger = setup(org_a).trigger("scheduler", config={"interval_seconds": 60})
        api(org_a).patch(f"/api/v1/triggers/{trigger['id']}", {"enabled": False})
        clock.shift(120)
        assert _tick(in_org, org_a)["fired"] == 0


@pytest.mark.django_db
def test_a_run_recorded_but_never_dispatched_is_started_by_the_relay(org_a, setup, in_org):
    """The tick commits the claim and the run's events, then dies before dispatching them."""
    from django.utils import timezone

    from apps.triggers.models import Trigger
    from apps.triggers.services.events import events_relay
    from apps.triggers.services.scheduler import schedule_fire
    from apps.workflows.models import Execution

    trigger = setup(org_a).trigger("scheduler", config={"interval_seconds": 60})
    in_org(org_a)
    row = Trigger.objects.select_related("workflow", "customer").get(id=trigger["id"])
    (event,) = schedule_fire(trigger=row, scheduled_for=row.next_scheduled_for, now=timezone.now())
    assert event.status == "received" and event.execution_id is None
    assert events_relay()["dispatched"] == 0  # too young: the tick that recorded it may still be at work
    counts = events_relay(now=timezone.now() + dt.timedelta(seconds=30))
    assert counts["dispatched"] == 1
    event.refresh_from_db()
    assert event.status in ("queued", "dispatched") and event.execution_id is not None
    assert Execution.objects.get(id=event.execution_id).triggered_by == "scheduler"
