"""Durable intake: an accepted trigger becomes an Event row first, then an execution.

The order is the guarantee (an outbox):

1. `event_record` commits the Event (`received`) — the sender's answer
   comes only after this, so an acknowledged event is in PostgreSQL.
2. `event_dispatch` starts the execution of the deployed version
   (`execution_start` with `event_id` and `triggered_by`) in a second
   transaction that also moves the event to `queued`; or rejects the event
   (workflow disabled, not deployed, input refused) with the reason.
3. After that commit the execution goes to its tier's queue through a
   circuit breaker (`broker_enqueue`): a broker that is down costs one
   request a connection failure (~0.4 s measured), then the breaker answers
   at once for FASTN_TRIGGERS_BROKER_RETRY_SECONDS. A queued message moves
   the event to `dispatched`.
4. `events_relay` (Celery beat, every few seconds) finishes what a crash or
   an outage interrupted: `received` events get their execution, `queued`
   events whose message never left get queued again (claims make a double
   delivery harmless), and `dispatched` events settle as `executed` or
   `failed` from their execution's outcome. Executions whose worker died
   are the engine's reaper's (apps.workflows.runner.executions_reap): it
   retries them or fails them, and the relay then settles the event.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import FastnError, error_body
from apps.core.jsonsafe import jsonb_safe
from apps.core.tenancy import current_organization, organization_context
from apps.settings.models import Customer
from apps.triggers.models import Event, Trigger
from apps.workflows.models import Execution

logger = logging.getLogger(__name__)

TRIGGERED_BY = {
    Event.Type.WEBHOOK: Execution.Trigger.WEBHOOK,
    Event.Type.SCHEDULER: Execution.Trigger.SCHEDULER,
    Event.Type.APP_EVENT: Execution.Trigger.APP_EVENT,
    Event.Type.MANUAL: Execution.Trigger.MANUAL,
}
MAX_DEDUP_KEY = 255


# --- the broker, behind a circuit breaker -------------------------------------------

_breaker_lock = threading.Lock()
_broker_down_until = 0.0


def broker_available() -> bool:
    return time.monotonic() >= _broker_down_until


def broker_reset() -> None:
    """Forget a tripped breaker (tests, and the relay once a send worked)."""
    global _broker_down_until
    with _breaker_lock:
        _broker_down_until = 0.0


def broker_enqueue(*, execution_id: Any, tier: str) -> bool:
    """Queue an execution unless the broker was seen down a moment ago.
    Returns whether the message was sent; never raises."""
    global _broker_down_until
    from apps.workflows.services import enqueue_execution

    if not broker_available():
        return False
    try:
        enqueue_execution(execution_id=execution_id, tier=tier)
    except Exception:  # noqa: BLE001 - the broker is down: the relay queues it later
        with _breaker_lock:
            _broker_down_until = time.monotonic() + settings.FASTN_TRIGGERS_BROKER_RETRY_SECONDS
        logger.warning("Broker unavailable; execution %s waits for the relay", execution_id, exc_info=True)
        return False
    return True


# --- recording ---------------------------------------------------------------------------


@dataclass
class Incoming:
    """One thing that happened, about to become an Event."""

    type: str
    trigger: Trigger | None
    payload: Any
    headers: dict | None = None
    source: str = ""
    source_ip: str | None = None
    event_type: str = ""
    dedup_key: str = ""
    customer: Customer | None = None
    # The version deployed to the trigger's environment, when the caller read it
    # with the trigger (one query less); None: looked up when needed.
    version: Any = None


def payload_size(value: Any) -> int:
    return len(json.dumps(value, default=str, separators=(",", ":")).encode("utf-8"))


def event_find_duplicate(*, trigger: Trigger, dedup_key: str) -> Event | None:
    if not dedup_key:
        return None
    return Event.objects.filter(trigger=trigger, dedup_key=dedup_key[:MAX_DEDUP_KEY]).first()


def _event_values(incoming: Incoming) -> dict[str, Any]:
    """An incoming event's columns (by attribute name), without a model instance."""
    trigger = incoming.trigger
    payload = incoming.payload
    return {
        "trigger_id": trigger.pk if trigger else None,
        "workflow_slug": trigger.workflow.slug if trigger else "",
        "environment": trigger.environment if trigger else "",
        "type": incoming.type,
        "source": incoming.source[:80],
        "event_type": (incoming.event_type or "")[:200],
        "payload": jsonb_safe(payload),
        "payload_bytes": payload_size(payload),
        "headers": incoming.headers or {},
        "source_ip": incoming.source_ip,
        "dedup_key": (incoming.dedup_key or "")[:MAX_DEDUP_KEY],
        "customer_id": incoming.customer.pk if incoming.customer else None,
        "customer_external_id": incoming.customer.external_id if incoming.customer else "",
    }


def _event_row(incoming: Incoming, **fields: Any) -> Event:
    values = _event_values(incoming)
    del values["trigger_id"], values["customer_id"]
    return Event(trigger=incoming.trigger, customer=incoming.customer, **values, **fields)


def event_record(*, incoming: Incoming, event_id: Any = None) -> Event:
    """Commit the event as `received`. Raises IntegrityError when its dedup
    key was seen (the caller answers with the first event's response)."""
    event = _event_row(incoming, status=Event.Status.RECEIVED)
    if event_id is not None:
        event.id = event_id
    with transaction.atomic():
        event.save(force_insert=True)
        _relay_watch(event)
    return event


def _relay_watch(event: Event) -> None:
    """The relay looks at this organization once the event could be stranded (apps.core.ticks)."""
    from apps.core.ticks import tick_mark

    tick_mark(kind="relay", at=event.received_at + timedelta(seconds=settings.FASTN_TRIGGERS_RELAY_GRACE_SECONDS))


def event_input(event: Event) -> Any:
    """ctx.input of the event's execution: the webhook's body (as for a
    manual run), the schedule's metadata, or for app events the provider's
    payload with its type and connector."""
    if event.type != Event.Type.APP_EVENT:
        return event.payload
    kind, _, connector = event.source.partition(":")
    return {
        "event_type": event.event_type,
        "connector": connector,
        "delivery": "polling" if kind == "poll" else "webhook",
        "event_id": str(event.id),
        "data": event.payload,
    }


def event_reject(*, event: Event, error: FastnError | dict, response_status: int | None = None) -> Event:
    """received/queued → rejected, with the reason (and the answer the sender got)."""
    body = error_body(error.code, error.message, error.details) if isinstance(error, FastnError) else None
    reason = body["error"] if body else error
    status_code = response_status or (error.status if isinstance(error, FastnError) else None)
    Event.objects.filter(pk=event.pk, status__in=[Event.Status.RECEIVED, Event.Status.QUEUED]).update(
        status=Event.Status.REJECTED,
        error=jsonb_safe(reason),
        finished_at=timezone.now(),
        response_status=status_code,
        response_body=body,
    )
    event.status, event.error = Event.Status.REJECTED, reason
    return event


# --- dispatching ---------------------------------------------------------------------------


@dataclass
class Dispatched:
    event: Event
    execution: Execution | None
    enqueued: bool
    error: FastnError | None = None


def event_dispatch(*, event: Event, trigger: Trigger | None = None) -> Dispatched:
    """Start the event's execution (received → queued), then queue it
    (queued → dispatched). A refusal of the engine rejects the event."""
    from apps.workflows.services import RunRequest, execution_start

    trigger = trigger or event.trigger
    if trigger is None:
        event_reject(event=event, error={"code": "trigger_deleted", "message": "The trigger was deleted."})
        return Dispatched(event, None, False)
    try:
        with transaction.atomic():
            claimed = Event.objects.select_for_update(skip_locked=True).filter(
                pk=event.pk, status=Event.Status.RECEIVED
            )
            if not claimed.exists():
                return Dispatched(event, None, False)
            started = execution_start(
                actor=None,
                request=RunRequest(
                    workflow=trigger.workflow,
                    environment_slug=trigger.environment,
                    input=event_input(event),
                    headers=event.headers or {},
                    config=trigger.run_config,
                    customer=event.customer,
                    triggered_by=TRIGGERED_BY[event.type],
                    event_id=event.id,
                    enqueue=False,
                ),
            )
            execution = started.execution
            Event.objects.filter(pk=event.pk).update(
                status=Event.Status.QUEUED, execution_id=execution.id, execution_status=execution.status
            )
    except FastnError as exc:
        event_reject(event=event, error=exc)
        return Dispatched(event, None, False, error=exc)
    event.status, event.execution_id = Event.Status.QUEUED, execution.id
    return Dispatched(event, execution, _send_after_commit(event, execution))


def _send_after_commit(event: Event, execution: Execution) -> bool:
    """Queue now (no transaction open: the rows are committed), or once the
    caller's transaction commits — the worker could not see them before."""
    if not transaction.get_connection().in_atomic_block:
        return _send(event, execution)
    organization = current_organization()

    def send_in_schema() -> None:
        with organization_context(organization):
            _send(event, execution)

    transaction.on_commit(send_in_schema)
    return False


def _send(event: Event, execution: Execution) -> bool:
    """queued → dispatched once the message is on the broker."""
    if not broker_enqueue(execution_id=execution.id, tier=execution.tier):
        return False
    now = timezone.now()
    Event.objects.filter(pk=event.pk, status=Event.Status.QUEUED).update(
        status=Event.Status.DISPATCHED, dispatched_at=now
    )
    event.status, event.dispatched_at = Event.Status.DISPATCHED, now
    return True


def event_remember_response(*, event: Event, status_code: int, body: dict) -> None:
    """The answer the sender got, for a retry with the same key."""
    Event.objects.filter(pk=event.pk, response_status__isnull=True).update(
        response_status=status_code, response_body=jsonb_safe(body)
    )


@dataclass
class InstantAnswer:
    """What an Instant webhook run made in this process answers (status, body)."""

    status: int
    body: dict


def event_accept_instant(*, incoming: Incoming, max_wait_s: float) -> tuple[InstantAnswer | None, bool]:
    """Accept an event of an Instant workflow and run it in this process
    (apps.workflows.inline): the event is written with its finished execution,
    before the sender hears back. Returns (answer, counted): answer None when
    this path does not apply (a dedup key, not Instant, no free slot, or a
    refusal that `event_accept` records the usual way), and whether the
    `events` quota was counted already.
    """
    from apps.billing.exceptions import QuotaExceeded
    from apps.billing.services import quota_consume
    from apps.workflows import inline
    from apps.workflows.selectors import deployed_version
    from apps.workflows.services import RunRequest, execution_run_inline

    trigger = incoming.trigger
    if (
        trigger is None
        or incoming.dedup_key
        or incoming.type == Event.Type.APP_EVENT  # its input is built from the event row: the usual path
        or trigger.workflow.tier != "instant"
        or not trigger.workflow.enabled
    ):
        return None, False
    if settings.FASTN_INSTANT_INLINE_SLOTS <= 0 or inline.slots.busy >= settings.FASTN_INSTANT_INLINE_SLOTS:
        return None, False
    version = incoming.version or deployed_version(
        workflow_id=trigger.workflow_id, environment_slug=trigger.environment
    )
    if version is None or version.config.get("tier") != "instant":
        return None, False
    try:
        quota_consume(
            organization=current_organization(),
            meter="events",
            customer_external_id=incoming.customer.external_id if incoming.customer else None,
        )
    except QuotaExceeded:
        return None, False  # event_accept counts again (a block counts nothing) and records the refusal
    event = {**_event_values(incoming), "id": inline.new_id()}
    request = RunRequest(
        workflow=trigger.workflow,
        environment_slug=trigger.environment,
        input=event["payload"],
        headers=event["headers"],
        customer=incoming.customer,
        triggered_by=TRIGGERED_BY[incoming.type],
        event_id=event["id"],
        version=version,
        config=trigger.run_config,
    )
    try:
        ran = execution_run_inline(actor=None, request=request, event=event, max_wait_s=max_wait_s)
    except FastnError:
        return None, True
    if ran is None:
        return None, True
    outcome = ran.outcome
    body: dict[str, Any] = {"event_id": str(event["id"]), "execution_id": str(ran.execution_id)}
    if outcome is None:
        body["status"] = "running"
        status_code = 202
    elif "body" in outcome:
        return InstantAnswer(200, outcome["body"]), True  # stored with the event already
    else:
        status_code = 200
        body.update(status=outcome["status"], output=outcome.get("output"), duration_ms=outcome.get("duration_ms"))
        if outcome["status"] != "completed":
            body["error"] = outcome.get("error")
    Event.objects.filter(pk=event["id"], response_status__isnull=True).update(
        response_status=status_code, response_body=jsonb_safe(body)
    )
    return InstantAnswer(status_code, body), True


def event_accept(*, incoming: Incoming, quota_counted: bool = False) -> tuple[Event, Dispatched | None, bool]:
    """Accept one incoming event: count it against the `events` quota, then
    commit the event together with its execution, then queue the execution.
    Returns (event, dispatched, duplicate).

    - A duplicate (same dedup key for the trigger) returns the first event
      and does nothing else.
    - A quota hard block records the event as rejected and raises QuotaExceeded.
    - An engine refusal (workflow disabled, not deployed, input refused)
      records the event as rejected; `dispatched.error` says why.

    The event and its execution commit in one transaction — the event is
    in PostgreSQL before the sender hears back — and the message goes to the
    broker after that commit (the relay sends it if that fails).
    """
    from apps.billing.exceptions import QuotaExceeded
    from apps.billing.services import quota_consume
    from apps.workflows.services import RunRequest, execution_start

    trigger = incoming.trigger
    if trigger is None:
        raise ValueError("An accepted event belongs to a trigger.")
    if incoming.dedup_key:
        existing = event_find_duplicate(trigger=trigger, dedup_key=incoming.dedup_key)
        if existing is not None:
            return existing, None, True
    try:
        if not quota_counted:
            quota_consume(
                organization=current_organization(),
                meter="events",
                customer_external_id=incoming.customer.external_id if incoming.customer else None,
            )
    except QuotaExceeded as exc:
        try:
            event = event_record(incoming=incoming)  # recorded, then rejected with the sender's answer
        except IntegrityError:
            return event_find_duplicate(trigger=trigger, dedup_key=incoming.dedup_key), None, True
        event_reject(event=event, error=exc)
        raise
    event = _event_row(incoming, status=Event.Status.QUEUED)
    try:
        with transaction.atomic():
            started = execution_start(
                actor=None,
                request=RunRequest(
                    workflow=trigger.workflow,
                    environment_slug=trigger.environment,
                    input=event_input(event),
                    headers=event.headers or {},
                    config=trigger.run_config,
                    customer=event.customer,
                    triggered_by=TRIGGERED_BY[event.type],
                    event_id=event.id,
                    enqueue=False,
                ),
            )
            execution = started.execution
            event.execution_id, event.execution_status = execution.id, execution.status
            event.save(force_insert=True)
            _relay_watch(event)
    except IntegrityError:
        duplicate = event_find_duplicate(trigger=trigger, dedup_key=incoming.dedup_key)
        if duplicate is None:
            raise
        return duplicate, None, True
    except FastnError as exc:
        try:
            rejected = event_record(incoming=incoming, event_id=event.id)
        except IntegrityError:
            return event_find_duplicate(trigger=trigger, dedup_key=incoming.dedup_key), None, True
        event_reject(event=rejected, error=exc)
        return rejected, Dispatched(rejected, None, False, error=exc), False
    return event, Dispatched(event, execution, _send_after_commit(event, execution)), False


# --- the relay ---------------------------------------------------------------------------------

SETTLED_BY_EXECUTION = {
    Execution.Status.COMPLETED: Event.Status.EXECUTED,
    Execution.Status.FAILED: Event.Status.FAILED,
    Execution.Status.TIMEOUT: Event.Status.FAILED,
}
RELAY_BATCH = 500
# How often beat runs the relay (settings.CELERY_BEAT_SCHEDULE).
RELAY_INTERVAL_SECONDS = 5


def events_relay(*, now=None) -> dict[str, int]:
    """Drive unsettled events of the current organization forward (see the module docstring)."""
    now = now or timezone.now()
    counts = {"dispatched": 0, "requeued": 0, "settled": 0}
    grace = timedelta(seconds=settings.FASTN_TRIGGERS_RELAY_GRACE_SECONDS)

    stranded = Event.objects.filter(status=Event.Status.RECEIVED, received_at__lt=now - grace).select_related(
        "trigger__workflow", "customer"
    )
    for event in stranded.order_by("received_at")[:RELAY_BATCH]:
        outcome = event_dispatch(event=event)
        counts["dispatched"] += outcome.execution is not None

    unsent = list(
        Event.objects.filter(status=Event.Status.QUEUED, received_at__lt=now - grace)
        .order_by("received_at")
        .values_list("id", "execution_id")[:RELAY_BATCH]
    )
    executions = _execution_states([execution_id for _, execution_id in unsent])
    for event_id, execution_id in unsent:
        state = executions.get(execution_id)
        if state is None:
            Event.objects.filter(pk=event_id, status=Event.Status.QUEUED).update(
                status=Event.Status.FAILED,
                error={"code": "execution_missing", "message": "The event's execution no longer exists."},
                finished_at=now,
            )
            continue
        status, tier = state
        if status == Execution.Status.QUEUED:
            if not broker_enqueue(execution_id=execution_id, tier=tier):
                break  # still down: try again on the next run
            counts["requeued"] += 1
        Event.objects.filter(pk=event_id, status=Event.Status.QUEUED).update(
            status=Event.Status.DISPATCHED, dispatched_at=now, execution_status=status
        )

    counts["settled"] = events_settle(now=now)
    return counts


def relay_next_due(now=None):
    """When the relay next has something to do here (None: every event is settled):
    a received or queued event once it is older than the grace period; a
    dispatched one at the next relay run, to settle it when its execution ends."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.FASTN_TRIGGERS_RELAY_GRACE_SECONDS)
    if Event.objects.filter(status=Event.Status.DISPATCHED).exists():
        return now + timedelta(seconds=RELAY_INTERVAL_SECONDS)
    oldest = (
        Event.objects.filter(status__in=[Event.Status.RECEIVED, Event.Status.QUEUED])
        .order_by("received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    return oldest + grace if oldest is not None else None


def _execution_states(ids: list) -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    rows = Execution.objects.filter(id__in=ids).values_list("id", "status", "tier")
    return {row[0]: (row[1], row[2]) for row in rows}


def events_settle(*, now=None) -> int:
    """dispatched → executed / failed once the execution has finished."""
    now = now or timezone.now()
    pending = list(
        Event.objects.filter(status=Event.Status.DISPATCHED)
        .order_by("received_at")
        .values_list("id", "execution_id")[:RELAY_BATCH]
    )
    states = _execution_states([execution_id for _, execution_id in pending])
    settled = 0
    for event_id, execution_id in pending:
        state = states.get(execution_id)
        if state is None:
            settled += Event.objects.filter(pk=event_id, status=Event.Status.DISPATCHED).update(
                status=Event.Status.FAILED,
                error={"code": "execution_missing", "message": "The event's execution no longer exists."},
                finished_at=now,
            )
            continue
        final = SETTLED_BY_EXECUTION.get(state[0])
        if final is None:
            Event.objects.filter(pk=event_id, status=Event.Status.DISPATCHED).exclude(execution_status=state[0]).update(
                execution_status=state[0]
            )
            continue
        settled += Event.objects.filter(pk=event_id, status=Event.Status.DISPATCHED).update(
            status=final, execution_status=state[0], finished_at=now
        )
    return settled


def trigger_fire(
    *, trigger: Trigger, payload: Any = None, source_ip: str | None = None
) -> tuple[Event, Dispatched | None]:
    """Start a trigger's workflow by hand: a `manual` event (the Events log's Manual)."""
    if payload is None:
        payload = {"trigger_id": str(trigger.id), "fired_at": timezone.now().isoformat(), "manual": True}
    event, dispatched, _ = event_accept(
        incoming=Incoming(
            type=Event.Type.MANUAL,
            trigger=trigger,
            payload=payload,
            source="manual",
            source_ip=source_ip,
            customer=trigger.customer,
        )
    )
    return event, dispatched
