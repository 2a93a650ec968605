"""The widget of an organization, its templates, and customers' activations.

Tables live in each organization's schema. Customer sessions and the
allowed-origin index are public (apps.widgets.shared).
"""

from __future__ import annotations

import uuid

from django.db import models


class WidgetConfig(models.Model):
    """The organization's widget, one row: what `<fastn-hub>` shows and where
    it may be embedded. `integrations` is `[{"connector", "label"}]` in display
    order; `templates` lists template slugs in display order; `style` holds
    design tokens (apps.widgets.style) that differ from the defaults."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    title = models.CharField(max_length=120, default="Integrations")
    subtitle = models.CharField(max_length=300, blank=True, default="")
    style = models.JSONField(default=dict, blank=True)
    integrations = models.JSONField(default=list, blank=True)
    templates = models.JSONField(default=list, blank=True)
    allowed_origins = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"widget {self.title!r}"


class Template(models.Model):
    """A deployed workflow that customers switch on for themselves.

    `connectors` must be connected by the customer before enabling;
    `config_schema` (a JSON Schema, object at the root) checks the
    customer's settings, which runs see as `ctx.config`; the trigger recipe
    (`trigger_type` + `trigger_config`, as for /api/v1/triggers) becomes
    each activation's own trigger, bound to the customer.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, related_name="templates")
    environment = models.SlugField(max_length=50, default="production")
    connectors = models.JSONField(default=list, blank=True)
    config_schema = models.JSONField(null=True, blank=True)
    trigger_type = models.CharField(max_length=16)
    trigger_config = models.JSONField(default=dict, blank=True)
    # A provider's secret for an app-event recipe, or a webhook's given signing secret (encrypted).
    trigger_secret_ciphertext = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=255, blank=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="template_newest")]

    def __str__(self) -> str:
        return self.slug


class Activation(models.Model):
    """One customer's use of a template: its settings and its own trigger.

    Disabling keeps the row (and its settings, the default when enabling
    again) and disables the trigger; the webhook URL stays the same.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="activations")
    customer = models.ForeignKey("settings.Customer", on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=True)
    config = models.JSONField(default=dict, blank=True)
    trigger = models.ForeignKey("triggers.Trigger", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    enabled_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "customer"], name="activation_unique_customer")]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="activation_customer"),
            models.Index(fields=["template", "-created_at", "-id"], name="activation_template"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id} for {self.customer_id}"
