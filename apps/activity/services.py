"""Alert rules: writing them, evaluating them every minute, notifying.

Evaluation (`alerts_evaluate`, from the minute task after the rollups) reads
the per-minute rollups of the owning apps — `apps.workflows.rollups` for
execution metrics, `apps.connectors.rollups` when a rule is scoped to a
connector — never raw executions or traces. One query per source reads the
longest window any rule needs; each rule's value is then summed in memory
from the rows of its scope, so the cost grows with rollup rows and rules, not
with traffic.

States: `ok` → `firing` when the value crosses the threshold; `firing` →
`ok` (a `resolved` event) only when the value is back past the resolve
threshold (hysteresis: 10 % back from the threshold unless set) for
`resolve_after` evaluations in a row. A value that flaps around the
threshold therefore fires once. A muted rule still changes state and keeps
its history, but sends nothing.
"""

from __future__ import annotations

import logging
import math
import secrets as secrets_module
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.accounts.principals import Principal
from apps.activity.models import AlertEvent, AlertRule
from apps.connectors import rollups as call_rollups
from apps.connectors import selectors as connectors_selectors
from apps.core import crypto, latency
from apps.core.errors import InvalidInput
from apps.settings.services import audit_record
from apps.workflows import rollups as execution_rollups

logger = logging.getLogger(__name__)

Metric = AlertRule.Metric
State = AlertRule.State
MIN_WINDOW_SECONDS = 60
MAX_WINDOW_SECONDS = 24 * 3600
MAX_CHANNELS = 10
MAX_MUTE_SECONDS = 30 * 24 * 3600
FIELDS = {
    "name",
    "metric",
    "scope",
    "window_seconds",
    "operator",
    "threshold",
    "channels",
    "resolve_threshold",
    "resolve_after",
    "enabled",
    "muted_until",
}
SCOPE_FIELDS = {"workflow": 100, "connector": 63, "customer": 255, "environment": 50}


# --- Checking input -------------------------------------------------------------------------------


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput.for_field(name, "Must be a number.")
    return float(value)


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput.for_field(name, f"Must be an integer from {low} to {high}.")
    return value


def _text(value: Any, name: str, max_length: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput.for_field(name, "Must be a string.")
    value = value.strip()
    if required and not value:
        raise InvalidInput.for_field(name, "Required.")
    if len(value) > max_length:
        raise InvalidInput.for_field(name, f"At most {max_length} characters.")
    return value


def _scope(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput.for_field("scope", 'Must be an object such as {"workflow": "sync-contacts"}.')
    unknown = sorted(set(value) - set(SCOPE_FIELDS))
    if unknown:
        raise InvalidInput.for_field(
            f"scope.{unknown[0]}", "Unknown field: use workflow, connector, customer, environment."
        )
    scope = {name: _text(value.get(name), f"scope.{name}", limit) for name, limit in SCOPE_FIELDS.items()}
    if scope["connector"] and scope["environment"]:
        raise InvalidInput.for_field(
            "scope.environment",
            "Connector metrics are not kept per environment: scope a connector rule by workflow or customer.",
        )
    return {name: text for name, text in scope.items() if text}


def _channel(value: Any, index: int) -> dict[str, Any]:
    name = f"channels.{index}"
    if not isinstance(value, dict):
        raise InvalidInput.for_field(name, "Must be an object with a type.")
    kind = value.get("type")
    if kind == "webhook":
        url = _text(value.get("url"), f"{name}.url", 2000, required=True)
        if not url.startswith(("https://", "http://")):
            raise InvalidInput.for_field(f"{name}.url", "Must be an http(s) URL.")
        return {"type": "webhook", "url": url}
    if kind == "email":
        to = value.get("to")
        addresses = [to] if isinstance(to, str) else to
        if not isinstance(addresses, list) or not addresses or len(addresses) > 20:
            raise InvalidInput.for_field(f"{name}.to", "Give an email address or a list of up to 20.")
        for address in addresses:
            try:
                validate_email(address)
            except (ValidationError, TypeError):
                raise InvalidInput.for_field(f"{name}.to", f"{address!r} is not an email address.") from None
        return {"type": "email", "to": addresses}
    if kind == "slack":
        connection_id = value.get("connection")
        try:
            connection = connectors_selectors.connection_get_in_organization(connection_id=connection_id)
        except Exception:  # noqa: BLE001 - any lookup failure is the same answer for the caller
            raise InvalidInput.for_field(f"{name}.connection", "There is no such connection in this organization.")
        if connection.connector.slug != "slack":
            raise InvalidInput.for_field(f"{name}.connection", "Must be a connection to the slack connector.")
        channel = _text(value.get("channel"), f"{name}.channel", 200, required=True)
        return {"type": "slack", "connection": str(connection.id), "channel": channel}
    raise InvalidInput.for_field(f"{name}.type", "Must be webhook, email or slack.")


def _channels(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CHANNELS:
        raise InvalidInput.for_field("channels", f"Must be a list of at most {MAX_CHANNELS} channels.")
    return [_channel(item, index) for index, item in enumerate(value)]


def _muted_until(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise InvalidInput.for_field("muted_until", "Must be an ISO 8601 date and time, or null.")
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _apply(rule: AlertRule, data: dict[str, Any], *, creating: bool) -> list[str]:
    """Check `data` and set it on `rule`; returns the names of the changed fields."""
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise InvalidInput.for_field(unknown[0], "Unknown field.")
    if creating:
        for required in ("name", "metric", "window_seconds", "operator", "threshold"):
            if required not in data:
                raise InvalidInput.for_field(required, "Required.")
    changed = []
    if "name" in data:
        rule.name = _text(data["name"], "name", 200, required=True)
        changed.append("name")
    if "metric" in data:
        if data["metric"] not in Metric.values:
            raise InvalidInput.for_field("metric", f"Must be one of {', '.join(Metric.values)}.")
        rule.metric = data["metric"]
        changed.append("metric")
    if "scope" in data:
        scope = _scope(data["scope"])
        rule.scope_workflow = scope.get("workflow", "")
        rule.scope_connector = scope.get("connector", "")
        rule.scope_customer = scope.get("customer", "")
        rule.scope_environment = scope.get("environment", "")
        changed.append("scope")
    if "window_seconds" in data:
        rule.window_seconds = _int(data["window_seconds"], "window_seconds", MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS)
        changed.append("window_seconds")
    if "operator" in data:
        if data["operator"] not in AlertRule.Operator.values:
            raise InvalidInput.for_field("operator", "Must be one of >, >=, <, <=.")
        rule.operator = data["operator"]
        changed.append("operator")
    if "threshold" in data:
        rule.threshold = _number(data["threshold"], "threshold")
        changed.append("threshold")
    if "resolve_threshold" in data:
        value = data["resolve_threshold"]
        rule.resolve_threshold = None if value is None else _number(value, "resolve_threshold")
        changed.append("resolve_threshold")
    if "resolve_after" in data:
        rule.resolve_after = _int(data["resolve_after"], "resolve_after", 1, 60)
        changed.append("resolve_after")
    if "channels" in data:
        rule.channels = _channels(data["channels"])
        changed.append("channels")
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise InvalidInput.for_field("enabled", "Must be true or false.")
        rule.enabled = data["enabled"]
        changed.append("enabled")
    if "muted_until" in data:
        rule.muted_until = _muted_until(data["muted_until"])
        changed.append("muted_until")
    if rule.metric == Metric.ERROR_RATE and not 0 <= rule.threshold <= 100:
        raise InvalidInput.for_field("threshold", "An error rate is a percentage from 0 to 100.")
    if rule.resolve_threshold is not None and _breaches(rule.operator, rule.resolve_threshold, rule.threshold):
        raise InvalidInput.for_field(
            "resolve_threshold", "Must be on the healthy side of the threshold (e.g. below it for > and >=)."
        )
    return changed


# --- Writing rules --------------------------------------------------------------------------------


def alert_rule_create(*, actor: Principal, data: dict[str, Any]) -> tuple[AlertRule, str]:
    """A new rule (state ok) and its webhook signing secret, shown this once."""
    rule = AlertRule(created_by=actor.label[:255])
    _apply(rule, data, creating=True)
    signing_secret = "whsec_" + secrets_module.token_urlsafe(32)
    rule.signing_secret_ciphertext = crypto.encrypt(signing_secret)
    with transaction.atomic():
        rule.save()
        audit_record(
            actor=actor,
            action="alert.create",
            resource_type="alert",
            resource_id=str(rule.id),
            changes={"name": rule.name, "metric": rule.metric},
        )
    return rule, signing_secret


def alert_rule_update(*, actor: Principal, rule: AlertRule, data: dict[str, Any]) -> AlertRule:
    changed = _apply(rule, data, creating=False)
    with transaction.atomic():
        rule.save()
        audit_record(
            actor=actor,
            action="alert.update",
            resource_type="alert",
            resource_id=str(rule.id),
            changes={"fields": changed},
        )
    return rule


def alert_rule_mute(*, actor: Principal, rule: AlertRule, seconds: Any) -> AlertRule:
    """Mute for `seconds` (0 unmutes)."""
    seconds = _int(seconds, "seconds", 0, MAX_MUTE_SECONDS)
    rule.muted_until = timezone.now() + timedelta(seconds=seconds) if seconds else None
    with transaction.atomic():
        rule.save(update_fields=["muted_until", "updated_at"])
        audit_record(
            actor=actor,
            action="alert.mute" if seconds else "alert.unmute",
            resource_type="alert",
            resource_id=str(rule.id),
            changes={"muted_until": rule.muted_until.isoformat() if rule.muted_until else None},
        )
    return rule


def alert_rule_delete(*, actor: Principal, rule: AlertRule) -> None:
    with transaction.atomic():
        rule_id = str(rule.id)
        rule.delete()
        audit_record(actor=actor, action="alert.delete", resource_type="alert", resource_id=rule_id)


def alert_signing_secret(rule: AlertRule) -> str:
    return crypto.decrypt(rule.signing_secret_ciphertext) if rule.signing_secret_ciphertext else ""


# --- Measuring ------------------------------------------------------------------------------------


def _breaches(operator: str, value: float, threshold: float) -> bool:
    if operator == ">":
        return value > threshold
    if operator == ">=":
        return value >= threshold
    if operator == "<":
        return value < threshold
    return value <= threshold


def resolve_threshold(rule: AlertRule) -> float:
    """Where a firing rule counts as healthy again: 10 % back from the threshold unless set."""
    if rule.resolve_threshold is not None:
        return rule.resolve_threshold
    margin = abs(rule.threshold) * 0.1
    return rule.threshold - margin if rule.operator in (">", ">=") else rule.threshold + margin


PERCENTILE_METRICS = frozenset({Metric.LATENCY_P99, Metric.LATENCY_P95})


@dataclass
class Tally:
    """Sums of rollup rows: enough for every metric. `buckets` is kept only
    where a percentile is asked for (None otherwise: summing histograms is
    most of the evaluation's work)."""

    total: int = 0
    failures: int = 0
    duration_sum_ms: float = 0.0
    buckets: list[int] | None = None

    def add(self, total: int, failures: int, duration_sum_ms: float, buckets: list[int] | None) -> None:
        self.total += total
        self.failures += failures
        self.duration_sum_ms += duration_sum_ms
        if buckets:
            if self.buckets is None:
                self.buckets = list(buckets)
            else:
                self.buckets = [a + b for a, b in zip(self.buckets, buckets, strict=False)]


def metric_value(metric: str, tally: Tally, window_minutes: int) -> float | None:
    """The metric from a window's sums; None when there is nothing to measure."""
    if metric == Metric.FAILURE_COUNT:
        return float(tally.failures)
    if metric == Metric.THROUGHPUT:
        return tally.total / max(window_minutes, 1)
    if tally.total == 0:
        return None
    if metric == Metric.ERROR_RATE:
        return 100.0 * tally.failures / tally.total
    if metric == Metric.LATENCY_AVG:
        return tally.duration_sum_ms / tally.total
    return latency.percentile(tally.buckets or latency.empty(), 0.99 if metric == Metric.LATENCY_P99 else 0.95)


def window_minutes(rule: AlertRule) -> int:
    return max(1, math.ceil(rule.window_seconds / 60))


def _scope_key(rule: AlertRule) -> tuple[str, str, str, str]:
    return (rule.scope_workflow, rule.scope_connector, rule.scope_customer, rule.scope_environment)


def _row_keys(workflow: str, connector: str, customer: str, environment: str, shapes: Iterable[tuple[bool, ...]]):
    """The scope keys a rollup row counts towards, one per shape (which scope fields a rule sets)."""
    for shape in shapes:
        yield (
            workflow if shape[0] else "",
            connector if shape[1] else "",
            customer if shape[2] else "",
            environment if shape[3] else "",
        )


def _shape(rule: AlertRule) -> tuple[bool, bool, bool, bool]:
    return tuple(bool(value) for value in _scope_key(rule))  # type: ignore[return-value]


def rule_series(rules: list[AlertRule], *, now: datetime, minutes: int) -> dict[Any, list[tuple[datetime, Tally]]]:
    """Per rule, the rollup sums of each of the last `minutes` minutes (oldest first), for its scope.

    Two queries in all (executions and calls); each rollup row is added to the
    scope keys of the rule shapes present, so the work is rows × shapes + rules."""
    start = execution_rollups.minute_floor(now) - timedelta(minutes=minutes - 1)
    minute_list = [start + timedelta(minutes=i) for i in range(minutes)]
    index = {minute: i for i, minute in enumerate(minute_list)}
    by_source: dict[str, list[AlertRule]] = defaultdict(list)
    for rule in rules:
        by_source["calls" if rule.scope_connector else "executions"].append(rule)

    sums: dict[tuple, list[Tally]] = {}

    def bucket_for(key: tuple) -> list[Tally]:
        series = sums.get(key)
        if series is None:
            series = sums[key] = [Tally() for _ in minute_list]
        return series

    for source, source_rules in by_source.items():
        shapes = {_shape(rule) for rule in source_rules}
        wanted = {_scope_key(rule) for rule in source_rules}
        # Histograms only for the scopes of percentile rules, and only read when some rule needs one.
        histogram_keys = {_scope_key(rule) for rule in source_rules if rule.metric in PERCENTILE_METRICS}
        bucket_field = ("duration_buckets",) if histogram_keys else ()
        if source == "executions":
            queryset = execution_rollups.execution_minutes(since=start)
            if all(shape[0] for shape in shapes):  # every rule names a workflow: read only those
                queryset = queryset.filter(workflow_slug__in={rule.scope_workflow for rule in source_rules})
            rows = (
                (minute, workflow, "", customer, environment, total, failed + timed_out, duration, rest)
                for minute, workflow, environment, customer, total, failed, timed_out, duration, *rest in (
                    queryset.values_list(
                        "minute",
                        "workflow_slug",
                        "environment",
                        "customer_external_id",
                        "total",
                        "failed",
                        "timeout",
                        "duration_sum_ms",
                        *bucket_field,
                    )  # fmt: skip
                )
            )
        else:
            connectors = {rule.scope_connector for rule in source_rules}
            rows = (
                (minute, workflow, connector, customer, "", calls, errors, duration, rest)
                for minute, connector, workflow, customer, calls, errors, duration, *rest in (
                    call_rollups.call_minutes(since=start, connectors=connectors).values_list(
                        "minute",
                        "connector_slug",
                        "workflow_slug",
                        "customer_external_id",
                        "calls",
                        "errors",
                        "duration_sum_ms",
                        *bucket_field,
                    )  # fmt: skip
                )
            )
        for minute, workflow, connector, customer, environment, total, failures, duration, rest in rows:
            position = index.get(minute)
            if position is None:
                continue
            for key in _row_keys(workflow, connector, customer, environment, shapes):
                if key in wanted:
                    buckets = rest[0] if rest and key in histogram_keys else None
                    bucket_for((source, *key))[position].add(total, failures, duration, buckets)

    empty = [Tally() for _ in minute_list]
    result = {}
    for rule in rules:
        key = ("calls" if rule.scope_connector else "executions", *_scope_key(rule))
        result[rule.id] = list(zip(minute_list, sums.get(key, empty), strict=True))
    return result


def window_value(rule: AlertRule, series: list[tuple[datetime, Tally]], *, end: int | None = None) -> float | None:
    """The rule's metric over its window ending at position `end` (default: the last minute) of `series`."""
    end = len(series) if end is None else end
    size = window_minutes(rule)
    tally = Tally()
    for _, minute_tally in series[max(0, end - size) : end]:
        tally.add(minute_tally.total, minute_tally.failures, minute_tally.duration_sum_ms, minute_tally.buckets)
    return metric_value(rule.metric, tally, size)


def alert_sparklines(*, rules: list[AlertRule], now: datetime | None = None, points: int = 30) -> dict[Any, list]:
    """Per rule, its metric at each of the last `points` minutes (each over the rule's window)."""
    now = now or timezone.now()
    longest = max((window_minutes(rule) for rule in rules), default=1)
    series = rule_series(rules, now=now, minutes=points + longest - 1)
    return {
        rule.id: [window_value(rule, series[rule.id], end=len(series[rule.id]) - points + i + 1) for i in range(points)]
        for rule in rules
    }


# --- Evaluating -----------------------------------------------------------------------------------


@dataclass
class Evaluation:
    rules: int = 0
    fired: int = 0
    resolved: int = 0
    events: list[str] = field(default_factory=list)


def alerts_evaluate(*, now: datetime | None = None) -> Evaluation:
    """Evaluate every enabled rule of the current organization once."""
    now = now or timezone.now()
    rules = list(AlertRule.objects.filter(enabled=True))
    outcome = Evaluation(rules=len(rules))
    if not rules:
        return outcome
    longest = max(window_minutes(rule) for rule in rules)
    series = rule_series(rules, now=now, minutes=longest)
    changed: list[AlertRule] = []
    events: list[AlertEvent] = []
    for rule in rules:
        value = window_value(rule, series[rule.id])
        kind = _step(rule, value)
        rule.last_value = value
        rule.last_evaluated_at = now
        changed.append(rule)
        if kind is not None:
            rule.state_changed_at = now
            muted = rule.muted_until is not None and rule.muted_until > now
            events.append(AlertEvent(rule=rule, kind=kind, value=value, threshold=rule.threshold, muted=muted))
            if kind == AlertEvent.Kind.FIRED:
                outcome.fired += 1
            else:
                outcome.resolved += 1
    with transaction.atomic():
        _store_states(changed)
        AlertEvent.objects.bulk_create(events)
        to_notify = [event for event in events if not event.muted and event.rule.channels]
        if to_notify:
            from apps.activity.tasks import notify_alert_event

            ids = [str(event.id) for event in to_notify]
            transaction.on_commit(lambda: [notify_alert_event.delay(event_id) for event_id in ids])
    outcome.events = [str(event.id) for event in events]
    return outcome


STATE_SQL = """
UPDATE activity_alertrule AS r
   SET state = v.state, state_changed_at = v.changed::timestamptz, clear_streak = v.streak::smallint,
       last_value = v.value::double precision, last_evaluated_at = v.evaluated::timestamptz
  FROM (VALUES {rows}) AS v(id, state, changed, streak, value, evaluated)
 WHERE r.id = v.id::uuid
"""


def _store_states(rules: list[AlertRule], batch: int = 500) -> None:
    """Every rule's state and last value in one UPDATE per `batch` rules (Django's
    bulk_update writes a CASE per field and row, which costs more than the evaluation)."""
    from django.db import connection

    for start in range(0, len(rules), batch):
        chunk = rules[start : start + batch]
        params: list[Any] = []
        for rule in chunk:
            params += [str(rule.id), rule.state, rule.state_changed_at, rule.clear_streak, rule.last_value,
                       rule.last_evaluated_at]  # fmt: skip
        rows = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(STATE_SQL.format(rows=rows), params)


def _step(rule: AlertRule, value: float | None) -> str | None:
    """Move the rule's state for a new value; returns the event kind when it changed."""
    if rule.state == State.OK:
        rule.clear_streak = 0
        if value is not None and _breaches(rule.operator, value, rule.threshold):
            rule.state = State.FIRING
            return AlertEvent.Kind.FIRED
        return None
    healthy = value is None or not _breaches(rule.operator, value, resolve_threshold(rule))
    rule.clear_streak = rule.clear_streak + 1 if healthy else 0
    if rule.clear_streak >= rule.resolve_after:
        rule.state = State.OK
        rule.clear_streak = 0
        return AlertEvent.Kind.RESOLVED
    return None


# --- Notifying ------------------------------------------------------------------------------------


def alert_payload(rule: AlertRule, *, state: str, value: float | None, at: datetime) -> dict[str, Any]:
    """What every channel says (the webhook body of API.md)."""
    return {
        "alert": {
            "id": str(rule.id),
            "name": rule.name,
            "metric": rule.metric,
            "operator": rule.operator,
            "window_seconds": rule.window_seconds,
        },
        "state": state,
        "value": value,
        "threshold": rule.threshold,
        "scope": rule.scope,
        "at": at.isoformat().replace("+00:00", "Z"),
    }


def alert_event_notify(*, event_id: Any) -> list[dict[str, Any]]:
    """Send a fired/resolved event to each of its rule's channels; record what each answered."""
    from apps.activity import notifications

    event = AlertEvent.objects.select_related("rule").filter(pk=event_id).first()
    if event is None or event.deliveries:
        return []  # gone, or sent already (a redelivered task)
    state = "firing" if event.kind == AlertEvent.Kind.FIRED else "resolved"
    payload = alert_payload(event.rule, state=state, value=event.value, at=event.created_at)
    deliveries = notifications.send_all(event.rule, payload, signing_secret=alert_signing_secret(event.rule))
    AlertEvent.objects.filter(pk=event.pk).update(deliveries=deliveries)
    return deliveries


def alert_test_send(*, actor: Principal, rule: AlertRule) -> AlertEvent:
    """Send a test notification to every channel now; recorded as a `test` event."""
    from apps.activity import notifications

    now = timezone.now()
    payload = alert_payload(rule, state="test", value=rule.last_value, at=now)
    deliveries = notifications.send_all(rule, payload, signing_secret=alert_signing_secret(rule))
    with transaction.atomic():
        event = AlertEvent.objects.create(
            rule=rule, kind=AlertEvent.Kind.TEST, value=rule.last_value, threshold=rule.threshold, deliveries=deliveries
        )
        audit_record(
            actor=actor,
            action="alert.test",
            resource_type="alert",
            resource_id=str(rule.id),
            outcome="success" if all(d["ok"] for d in deliveries) else "error",
        )
    return event
