"""Reads of alert rules and their events (current organization's schema)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from apps.activity.exceptions import AlertNotFound
from apps.activity.models import AlertEvent, AlertRule


def alert_rule_list(*, state: str = "") -> QuerySet[AlertRule]:
    rules = AlertRule.objects.all()
    if state:
        rules = rules.filter(state=state)
    return rules


def alert_rule_get(*, rule_id: Any) -> AlertRule:
    try:
        parsed = uuid.UUID(str(rule_id))
    except ValueError:
        parsed = None
    rule = AlertRule.objects.filter(pk=parsed).first() if parsed else None
    if rule is None:
        raise AlertNotFound(f"There is no alert rule {rule_id!r}.")
    return rule


def alert_event_list(*, rule: AlertRule) -> QuerySet[AlertEvent]:
    return AlertEvent.objects.filter(rule=rule)


def alert_events_recent(*, limit: int = 20) -> list[AlertEvent]:
    return list(AlertEvent.objects.select_related("rule").exclude(kind="test").order_by("-created_at", "-id")[:limit])


def alert_counts() -> dict[str, int]:
    return {
        "rules": AlertRule.objects.count(),
        "firing": AlertRule.objects.filter(state=AlertRule.State.FIRING, enabled=True).count(),
    }
