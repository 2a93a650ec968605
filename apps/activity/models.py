"""Alert rules and their history, in each organization's schema.

A rule watches one metric of the per-minute rollups (executions, or
connector calls when it is scoped to a connector) over a window and is
either `ok` or `firing`. Each change is an `AlertEvent` with the measured
value; notifications go to the rule's channels unless it is muted.
"""

from __future__ import annotations

import uuid

from django.db import models


class AlertRule(models.Model):
    class Metric(models.TextChoices):
        ERROR_RATE = "error_rate", "Error rate (%)"
        FAILURE_COUNT = "failure_count", "Failure count"
        LATENCY_P99 = "latency_p99", "Latency p99 (ms)"
        LATENCY_P95 = "latency_p95", "Latency p95 (ms)"
        LATENCY_AVG = "latency_avg", "Average latency (ms)"
        THROUGHPUT = "throughput", "Throughput (per minute)"

    class Operator(models.TextChoices):
        GT = ">", ">"
        GTE = ">=", "≥"
        LT = "<", "<"
        LTE = "<=", "≤"

    class State(models.TextChoices):
        OK = "ok", "OK"
        FIRING = "firing", "Firing"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    metric = models.CharField(max_length=16, choices=Metric.choices)
    scope_workflow = models.CharField(max_length=100, blank=True)
    scope_connector = models.CharField(max_length=63, blank=True)
    scope_customer = models.CharField(max_length=255, blank=True)
    scope_environment = models.CharField(max_length=50, blank=True)
    window_seconds = models.PositiveIntegerField()
    operator = models.CharField(max_length=2, choices=Operator.choices)
    threshold = models.FloatField()
    # Hysteresis: a firing rule resolves only once the value is past this
    # (default: 10 % back from the threshold) for `resolve_after` evaluations in a row.
    resolve_threshold = models.FloatField(null=True, blank=True)
    resolve_after = models.PositiveSmallIntegerField(default=2)
    channels = models.JSONField(default=list)
    # Webhook channels sign with this secret (shown once, when the rule is created).
    signing_secret_ciphertext = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    muted_until = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OK)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    clear_streak = models.PositiveSmallIntegerField(default=0)
    last_value = models.FloatField(null=True, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="alertrule_newest")]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self) -> dict[str, str]:
        pairs = (
            ("workflow", self.scope_workflow),
            ("connector", self.scope_connector),
            ("customer", self.scope_customer),
            ("environment", self.scope_environment),
        )
        return {name: value for name, value in pairs if value}


class AlertEvent(models.Model):
    """A rule fired or resolved (or a test notification was sent), with the
    value measured then and what each channel answered."""

    class Kind(models.TextChoices):
        FIRED = "fired", "Fired"
        RESOLVED = "resolved", "Resolved"
        TEST = "test", "Test"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.FloatField(null=True, blank=True)
    threshold = models.FloatField()
    muted = models.BooleanField(default=False)
    # [{"channel": index, "type", "ok", "detail"}], filled in as notifications go out.
    deliveries = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["rule", "-created_at", "-id"], name="alertevent_rule")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.kind}"
