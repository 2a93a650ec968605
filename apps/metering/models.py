"""Billing's per-organization tables (each organization's schema).

django-tenants puts an app's tables in one kind of schema. Plans are shared
(public schema, `apps.billing`); what belongs to one organization lives here:
its customer tiers and per-customer limits, the usage rolled up from the
Redis counters, and the record of quota notices. The logic that reads and
writes these tables is in `apps.billing` (services, selectors), which is the
only app that touches them; billing builds on this app, never the reverse.
"""

import uuid

from django.db import models

from apps.metering.dimensions import Dimension, Enforcement, Meter, Period, validate_enforcements, validate_limits


class CustomerTier(models.Model):
    """Limits for every customer whose `tier` is this slug.

    A customer whose tier has no row here has no limits of its own; the
    organization's plan limits still apply to it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    limits = models.JSONField(default=dict, blank=True, validators=[validate_limits])
    enforcements = models.JSONField(default=dict, blank=True, validators=[validate_enforcements])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class CustomerLimit(models.Model):
    """One customer's own limit for one dimension, over its tier's.

    `limit` None means no limit for this customer; `enforcement` empty means
    the tier's mode (or Hard Block when the tier has none).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey("settings.Customer", on_delete=models.CASCADE, related_name="quota_limits")
    dimension = models.CharField(max_length=32, choices=Dimension.choices)
    limit = models.BigIntegerField(null=True, blank=True)
    enforcement = models.CharField(max_length=16, choices=Enforcement.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "dimension"], name="customer_limit_unique"),
            models.CheckConstraint(condition=models.Q(limit__gte=0) | models.Q(limit__isnull=True), name="limit_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.dimension}={self.limit}"


class UsageRollup(models.Model):
    """A counter of one window copied from Redis by the minute's rollup.

    `customer_external_id` is empty for the organization's own total.
    Rollups only grow within a window (a counter lost with Redis never
    lowers what was already recorded), so running one twice is harmless.
    """

    id = models.BigAutoField(primary_key=True)
    meter = models.CharField(max_length=32, choices=Meter.choices)
    period = models.CharField(max_length=8, choices=[(p.value, p.label) for p in (Period.MINUTE, Period.DAY)])
    window_start = models.DateTimeField()
    day = models.DateField(help_text="The organization's local date of the window.")
    customer_external_id = models.CharField(max_length=255, blank=True)
    used = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meter", "period", "window_start", "customer_external_id"], name="usage_rollup_window_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["period", "meter", "day"], name="usage_rollup_day"),
            models.Index(fields=["customer_external_id", "period", "day"], name="usage_rollup_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.meter} {self.period} {self.window_start:%Y-%m-%d %H:%M} {self.customer_external_id or '-'}"


class UsageLevel(models.Model):
    """The last known level of a meter without windows (connections, storage)."""

    id = models.BigAutoField(primary_key=True)
    meter = models.CharField(max_length=32, choices=Meter.choices)
    customer_external_id = models.CharField(max_length=255, blank=True)
    value = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meter", "customer_external_id"], name="usage_level_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.meter} {self.customer_external_id or '-'}={self.value}"


class QuotaNotice(models.Model):
    """Something about quotas that people were, or must be, told about, once per window.

    The unique key makes "once per window" hold across processes: whoever
    inserts the row sends the email or writes the audit event.
    """

    class Kind(models.TextChoices):
        LIMIT_REACHED = "limit_reached", "Limit reached"
        COUNTERS_UNAVAILABLE = "counters_unavailable", "Counters unavailable"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    dimension = models.CharField(max_length=32, blank=True)
    customer_external_id = models.CharField(max_length=255, blank=True)
    window_start = models.DateTimeField()
    enforcement = models.CharField(max_length=16, choices=Enforcement.choices, blank=True)
    limit = models.BigIntegerField(null=True, blank=True)
    used = models.BigIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "dimension", "customer_external_id", "window_start"], name="quota_notice_once"
            ),
        ]
        indexes = [models.Index(fields=["-created_at"], name="quota_notice_newest")]

    def __str__(self) -> str:
        return f"{self.kind} {self.dimension} {self.customer_external_id or '-'} {self.window_start:%Y-%m-%d %H:%M}"
