"""Triggers, the events they accept, and polling cursors (each organization's schema).

An `Event` is the durable record of one accepted trigger: it is committed
before the sender gets an answer, and the relay (apps.triggers.relay) drives
every event to an execution, whatever happens to Redis or a worker after.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class Trigger(models.Model):
    """What starts a workflow: a webhook URL, a schedule, or a connector's events."""

    class Type(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        SCHEDULER = "scheduler", "Scheduler"
        APP_EVENT = "app_event", "App event"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=16, choices=Type.choices)
    name = models.CharField(max_length=200, blank=True)
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, related_name="triggers")
    environment = models.SlugField(max_length=50, default="production")
    # One customer; null: the organization itself, or the fan-out in `config`.
    customer = models.ForeignKey(
        "settings.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="triggers"
    )
    enabled = models.BooleanField(default=True)
    # Normalised, non-secret settings (see apps.triggers.config).
    config = models.JSONField(default=dict)
    # `ctx.config` of the runs it starts (a customer's settings of a template,
    # apps.widgets); null: an empty object.
    run_config = models.JSONField(null=True, blank=True)
    # Webhook: the URL token, Fernet-encrypted so members can copy the URL
    # again; lookups go through HookRoute's hash.
    token_ciphertext = models.TextField(blank=True)
    token_prefix = models.CharField(max_length=12, blank=True)
    # Webhook signing secret or the provider's secret of an app event (encrypted).
    secret_ciphertext = models.TextField(blank=True)
    # App events: the connector whose events start the workflow.
    connector_slug = models.SlugField(max_length=63, blank=True)
    # Schedules: the next nominal time, and when it is due (jitter added).
    next_scheduled_for = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=255, blank=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="trigger_newest"),
            models.Index(fields=["type", "-created_at"], name="trigger_type"),
            # The scheduler tick: enabled schedules that are due.
            models.Index(
                fields=["next_run_at"],
                name="trigger_due",
                condition=Q(type="scheduler", enabled=True, next_run_at__isnull=False),
            ),
            models.Index(fields=["connector_slug"], name="trigger_connector", condition=Q(type="app_event")),
        ]

    def __str__(self) -> str:
        return f"{self.type} trigger {self.id}"


class Event(models.Model):
    """One accepted trigger: received → queued → dispatched → executed / failed,
    or rejected (quota, workflow disabled or not deployed, no route)."""

    class Type(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        SCHEDULER = "scheduler", "Scheduled"
        APP_EVENT = "app_event", "App event"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        QUEUED = "queued", "Queued"
        DISPATCHED = "dispatched", "Dispatched"
        EXECUTED = "executed", "Executed"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    trigger = models.ForeignKey(Trigger, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    workflow_slug = models.SlugField(max_length=100, blank=True)
    environment = models.SlugField(max_length=50, blank=True)
    type = models.CharField(max_length=16, choices=Type.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    # Where it came from: "hook", "schedule", "app:github", "poll:gmail", "manual".
    source = models.CharField(max_length=80, blank=True)
    event_type = models.CharField(max_length=200, blank=True)  # the provider's type (push, invoice.paid…)
    payload = models.JSONField(null=True, blank=True)
    # The whole payload: the relay may have to start the execution from it.
    # Its size is bounded at intake by the execution input limit.
    payload_bytes = models.PositiveIntegerField(default=0)
    headers = models.JSONField(default=dict, blank=True)  # credentials stripped
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    # Idempotency-Key, a provider's delivery id, a polled record's id: unique per trigger.
    dedup_key = models.CharField(max_length=255, blank=True)
    customer = models.ForeignKey(
        "settings.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    customer_external_id = models.CharField(max_length=255, blank=True)
    execution_id = models.UUIDField(null=True, blank=True)
    execution_status = models.CharField(max_length=16, blank=True)
    error = models.JSONField(null=True, blank=True)
    # The first answer, replayed to a retry with the same key.
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["trigger", "dedup_key"], condition=~Q(dedup_key=""), name="event_unique_dedup_key"
            ),
        ]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="event_newest"),
            models.Index(fields=["type", "-received_at", "-id"], name="event_type"),
            models.Index(fields=["trigger", "-received_at"], name="event_trigger"),
            # The relay looks only at events that have not settled.
            models.Index(
                fields=["status", "received_at"],
                name="event_unsettled",
                condition=Q(status__in=["received", "queued", "dispatched"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} event {self.id} {self.status}"

    @property
    def is_settled(self) -> bool:
        return self.status in (self.Status.EXECUTED, self.Status.FAILED, self.Status.REJECTED)


class AppHookEndpoint(models.Model):
    """The organization's URL for inbound app events, one per organization:
    `/hooks/app/{token}/{connector}`. The token is encrypted here (members copy
    the URL again) and looked up by hash in the shared HookRoute table."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    token_ciphertext = models.TextField()
    token_prefix = models.CharField(max_length=12)
    rotated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"app hook {self.token_prefix}…"


class PollCursor(models.Model):
    """Where polling of one connection for one app-event trigger stands."""

    id = models.BigAutoField(primary_key=True)
    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="poll_cursors")
    connection_id = models.UUIDField()
    customer = models.ForeignKey("settings.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    cursor = models.JSONField(null=True, blank=True)  # the provider's incremental cursor
    seen_ids = models.JSONField(default=list, blank=True)  # the newest ids seen (bounded)
    baseline_done = models.BooleanField(default=False)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    new_records = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trigger", "connection_id"], name="pollcursor_unique_connection")
        ]

    def __str__(self) -> str:
        return f"poll cursor {self.trigger_id}/{self.connection_id}"
