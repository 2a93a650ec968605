"""Organizations (django-tenants tenants) and their domains: the public schema."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django_tenants.models import DomainMixin, TenantMixin


class Organization(TenantMixin):
    """A SaaS company using Fastn. Its data lives in its own PostgreSQL schema.

    `account_id` is the public identifier (the `x-fastn-account-id` header);
    `slug` names it in dashboard URLs (`/o/<slug>/`). One row, flagged
    `is_template`, owns the template schema that new organizations clone.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    account_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="organizations")
    timezone = models.CharField(max_length=64, default="UTC")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    is_template = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    # Cloning copies the template's structure only; rows every organization
    # needs (environments, keys) are created by `organization_create`.
    clone_mode = "NODATA"

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), name="organization_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """Clone the template schema when there is one; else django-tenants migrates."""
        from django_tenants.utils import get_creation_fakes_migrations, schema_exists

        from apps.core.schemas import clone_schema_into

        base = self.get_base_schema() if get_creation_fakes_migrations() else False
        if not (sync_schema and base and schema_exists(base)):
            return super().create_schema(check_if_exists, sync_schema, verbosity)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        clone_schema_into(base, self.schema_name)
        return True

    @property
    def is_public(self) -> bool:
        return self.schema_name == settings.PUBLIC_SCHEMA_NAME


class Domain(DomainMixin):
    """A host name that resolves to an organization (the host-name fallback)."""

    def __str__(self) -> str:
        return self.domain


class HookRoute(models.Model):
    """Where an inbound hook URL leads: `/hooks/{token}` (a webhook trigger)
    and `/hooks/app/{token}/{connector}` (an organization's app events).

    The hook request carries no account header: its token is the credential,
    and this public-schema table finds the organization behind it in one
    indexed lookup. Only the token's SHA-256 is stored here; rotating a token
    replaces the row, so the old URL stops working at once.
    """

    class Kind(models.TextChoices):
        TRIGGER = "trigger", "Webhook trigger"
        APP = "app", "App events of an organization"

    token_hash = models.CharField(max_length=64, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="hook_routes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The webhook trigger's id in the organization's schema (null for app events).
    target_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "kind", "target_id"], name="hookroute_target")]

    def __str__(self) -> str:
        return f"{self.kind} route of {self.organization_id}"


class TickDue(models.Model):
    """When an organization next has periodic work of a kind: the public index that lets
    the schedule tick, the event relay and the reaper visit only organizations with
    something due, instead of every schema (apps/core/ticks.py)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    due_at = models.DateTimeField()
    # Bumped by every mark: a visit that ends keeps an earlier mark made meanwhile.
    version = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "kind"], name="tickdue_unique")]
        indexes = [models.Index(fields=["kind", "due_at"], name="tickdue_due")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.kind} {self.due_at}"
