"""Firing schedules: the tick Celery beat runs every few seconds.

A due schedule (`next_run_at <= now`, the partial index `trigger_due`) is
claimed with a conditional UPDATE that moves `next_run_at` on: only the
process whose UPDATE matched the old value fires, so two beats or workers
never fire the same run twice. The claim and the run's events commit
together; dispatching (the executions) follows, and the relay finishes it
if this process dies in between.

Missed runs (the platform was down, or beat was): a run more than
FASTN_SCHEDULE_MISFIRE_GRACE_SECONDS late is missed. `skip` moves on to the
next time after now; `catch_up_once` fires once for the latest missed time
(`ctx.input.catch_up` is true) and then moves on.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.connectors.models import Connection
from apps.settings.models import Customer
from apps.triggers.models import Event, Trigger
from apps.triggers.services.events import Incoming, event_dispatch, event_record
from apps.triggers.services.triggers import schedule_of, schedule_plan

logger = logging.getLogger(__name__)
TICK_BATCH = 200


def schedule_targets(trigger: Trigger) -> list[Customer | None]:
    """Whom a run is for: the trigger's customer (or the organization), or its fan-out."""
    config = trigger.config or {}
    fan_out = config.get("fan_out")
    if fan_out == "customers":
        found = {c.external_id: c for c in Customer.objects.filter(external_id__in=config.get("customers", []))}
        missing = [ext for ext in config.get("customers", []) if ext not in found]
        if missing:
            logger.warning("Schedule %s names unknown customers %s", trigger.id, missing[:10])
        return [found[ext] for ext in config.get("customers", []) if ext in found]
    if fan_out == "connected_customers":
        ids = (
            Connection.objects.filter(connector__slug=config.get("connector"), customer__isnull=False)
            .exclude(status=Connection.Status.REVOKED)
            .values_list("customer_id", flat=True)
        )
        return list(Customer.objects.filter(id__in=ids).order_by("external_id"))
    return [trigger.customer]


def schedule_input(trigger: Trigger, *, scheduled_for, fired_at, customer: Customer | None, catch_up: bool) -> dict:
    config = trigger.config or {}
    data = {
        "trigger_id": str(trigger.id),
        "scheduled_for": scheduled_for.isoformat().replace("+00:00", "Z"),
        "fired_at": fired_at.isoformat().replace("+00:00", "Z"),
        "timezone": config.get("timezone", "UTC"),
        "catch_up": catch_up,
        "customer": customer.external_id if customer else None,
    }
    if config.get("cron"):
        data["cron"] = config["cron"]
    else:
        data["interval_seconds"] = config.get("interval_seconds")
    if "input" in config:
        data["data"] = config["input"]
    return data


def schedule_fire(*, trigger: Trigger, scheduled_for, now, catch_up: bool = False) -> list[Event]:
    """Record one run's events (one per target customer). Call inside the claim's transaction."""
    events = []
    for customer in schedule_targets(trigger):
        events.append(
            event_record(
                incoming=Incoming(
                    type=Event.Type.SCHEDULER,
                    trigger=trigger,
                    payload=schedule_input(
                        trigger, scheduled_for=scheduled_for, fired_at=now, customer=customer, catch_up=catch_up
                    ),
                    source="schedule",
                    # One run of one schedule for one customer: never twice.
                    dedup_key=f"run:{scheduled_for.isoformat()}:{customer.external_id if customer else '-'}",
                    customer=customer,
                )
            )
        )
    return events


def schedules_next_due(now=None):
    """The next time a schedule of the current organization is due (None: none is)."""
    return (
        Trigger.objects.filter(type=Trigger.Type.SCHEDULER, enabled=True, next_run_at__isnull=False)
        .order_by("next_run_at")
        .values_list("next_run_at", flat=True)
        .first()
    )


def schedules_tick(*, now=None) -> dict[str, int]:
    """Fire the due schedules of the current organization."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.FASTN_SCHEDULE_MISFIRE_GRACE_SECONDS)
    counts = {"fired": 0, "skipped": 0, "events": 0}
    due = (
        Trigger.objects.filter(type=Trigger.Type.SCHEDULER, enabled=True, next_run_at__lte=now)
        .select_related("workflow", "customer")
        .order_by("next_run_at")[:TICK_BATCH]
    )
    for trigger in due:
        claimed_run_at, scheduled_for = trigger.next_run_at, trigger.next_scheduled_for or trigger.next_run_at
        missed = now - claimed_run_at > grace
        fire_for, catch_up = scheduled_for, False
        if missed:
            if trigger.config.get("missed") == "catch_up_once":
                fire_for = schedule_of(trigger).latest_at_or_before(now, scheduled_for) or scheduled_for
                catch_up = True
            else:
                fire_for = None
        # The next run after the one fired now (or, skipping, after the missed ones).
        following_nominal, following_due = schedule_plan(trigger, after=fire_for or now - grace)
        if following_due <= now:  # far behind (a short interval): continue from now
            following_nominal, following_due = schedule_plan(trigger, after=now)
        events: list[Event] = []
        with transaction.atomic():
            claimed = Trigger.objects.filter(
                pk=trigger.pk, enabled=True, next_run_at=claimed_run_at, type=Trigger.Type.SCHEDULER
            ).update(
                next_run_at=following_due,
                next_scheduled_for=following_nominal,
                last_fired_at=now if fire_for else trigger.last_fired_at,
            )
            if not claimed:
                continue  # another tick took it
            if fire_for is not None:
                events = schedule_fire(trigger=trigger, scheduled_for=fire_for, now=now, catch_up=catch_up)
        if fire_for is None:
            counts["skipped"] += 1
            logger.info("Schedule %s missed %s; skipped", trigger.id, scheduled_for)
            continue
        counts["fired"] += 1
        counts["events"] += len(events)
        for event in events:
            _dispatch_counted(event, trigger)
    return counts


def _dispatch_counted(event: Event, trigger: Trigger) -> None:
    """Count the run against the events quota, then start it; a hard block rejects it."""
    from apps.billing.exceptions import QuotaExceeded
    from apps.billing.services import quota_consume
    from apps.core.tenancy import current_organization
    from apps.triggers.services.events import event_reject

    try:
        quota_consume(
            organization=current_organization(),
            meter="events",
            customer_external_id=event.customer.external_id if event.customer else None,
        )
    except QuotaExceeded as exc:
        event_reject(event=event, error=exc)
        return
    try:
        event_dispatch(event=event, trigger=trigger)
    except Exception:  # noqa: BLE001 - the relay dispatches received events
        logger.exception("Dispatching scheduled event %s failed; the relay will retry", event.id)
