"""An organization's own settings: customers, secrets, API keys, environments
and the audit log. These tables live in each organization's schema."""

import uuid

from django.db import models


class Customer(models.Model):
    """An end user of the organization's product (the `x-fastn-account-tenant-id`)."""

    class Region(models.TextChoices):
        US = "us", "United States"
        EU = "eu", "European Union"
        APAC = "apac", "Asia Pacific"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255)
    tier = models.SlugField(max_length=64, default="standard")
    region = models.CharField(max_length=8, choices=Region.choices, default=Region.US)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="customer_newest")]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class Secret(models.Model):
    """A named secret. The value is encrypted at rest and never leaves in clear
    except to workflow code that asks for it by name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=128, unique=True)
    ciphertext = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=255, blank=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="secret_newest")]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Secret {self.name}>"


class Environment(models.Model):
    """Where a workflow version is deployed: dev, staging, production or custom."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    is_production = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.slug


class ApiKey(models.Model):
    """An API key. Only its prefix and a SHA-256 hash are stored.

    Keys carry 240 bits of randomness, so a fast hash is as safe as a slow one
    and keeps authentication off the hot path's budget.
    """

    class Kind(models.TextChoices):
        TEST = "test", "Test"
        LIVE = "live", "Live"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    role = models.CharField(max_length=64)
    prefix = models.CharField(max_length=32)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=255, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="apikey_newest")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def __repr__(self) -> str:
        return f"<ApiKey {self.prefix}…>"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEvent(models.Model):
    """One mutation, or one refused attempt, by a person, a key or the system."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        DENIED = "denied", "Denied"
        ERROR = "error", "Error"

    class ActorType(models.TextChoices):
        USER = "user", "User"
        API_KEY = "api_key", "API key"
        # A customer acting through an embed session (apps.widgets).
        CUSTOMER = "customer", "Customer"
        SYSTEM = "system", "System"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=64)
    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    ip = models.GenericIPAddressField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="audit_newest"),
            models.Index(fields=["action", "-created_at"], name="audit_action"),
            models.Index(fields=["resource_type", "-created_at"], name="audit_resource"),
            models.Index(fields=["outcome", "-created_at"], name="audit_outcome"),
            models.Index(fields=["actor_id", "-created_at"], name="audit_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.outcome}"


class CustomRole(models.Model):
    """A role an organization defines: any subset of the permission matrix.

    `permissions` holds "<resource>.<action>" strings. `scoped_resources`
    lists the resources (workflows, connectors, …) on which the role is
    narrowed to chosen objects; those objects are stored as django-guardian
    object permissions of the role's group (apps.accounts.access).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True)
    permissions = models.JSONField(default=list, blank=True)
    scoped_resources = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
