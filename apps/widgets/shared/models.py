"""Public-schema tables of embedding.

A request to `/api/v1/embed/…` carries only a customer session token: no
account header, no host of the organization. These tables find the
organization behind the token (and the origins allowed to call) with one
indexed lookup, without visiting any organization's schema — as
`apps.core.HookRoute` does for hook URLs. Tables of a tenant app exist only
in tenant schemas, hence this small shared app.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from apps.core.models import Organization


class CustomerSession(models.Model):
    """A short-lived credential for one customer of one organization.

    Only the token's SHA-256 is stored. A session is valid while
    `revoked_at` is null and `expires_at` is in the future; both are read
    from this row on every request (no cache), so expiry and revocation
    apply at once. `customer_id` is the Customer's id in the organization's
    schema (no foreign key across schemas); authentication checks that the
    customer still exists.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_hash = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=20)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer_id = models.UUIDField()
    customer_external_id = models.CharField(max_length=255)
    # Connector slugs this session may use; null: the widget's integrations.
    integrations = models.JSONField(null=True, blank=True)
    # The one browser origin this session may be used from; blank: the widget's allowed origins.
    allowed_origin = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "customer_id", "-created_at"], name="csession_customer"),
            models.Index(fields=["expires_at"], name="csession_expiry"),
            models.Index(fields=["allowed_origin"], name="csession_origin", condition=~Q(allowed_origin="")),
        ]

    def __str__(self) -> str:
        return f"session {self.token_prefix}… of {self.customer_external_id}"

    def __repr__(self) -> str:
        return f"<CustomerSession {self.id} {self.customer_external_id}>"


class EmbedOrigin(models.Model):
    """An origin an organization's widget allows (`allowed_origins` of
    `GET/PUT /api/v1/widget`), copied here so that a CORS preflight, which
    carries no token, can be answered for the origins some organization
    allows and for no other."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    origin = models.CharField(max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "origin"], name="embedorigin_unique")]
        indexes = [models.Index(fields=["origin"], name="embedorigin_origin")]

    def __str__(self) -> str:
        return self.origin


class EmbedSigningKey(models.Model):
    """A public key the organization's backend signs customer JWTs with
    (RS256), so it can mint sessions without calling Fastn per page view.

    The JWT names its key in `kid`; this public table finds the key and its
    organization in one lookup. Several keys may be live at once (rotation);
    a revoked key's tokens answer 401 at once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kid = models.CharField(max_length=64, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    public_key = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=255, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"], name="embedkey_organization")]

    def __str__(self) -> str:
        return f"signing key {self.kid}"


class CustomerSessionCutoff(models.Model):
    """`DELETE /customers/{id}/sessions` for tokens Fastn did not mint: a
    customer JWT issued (`iat`) before this time is refused."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer_id = models.UUIDField()
    revoked_before = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "customer_id"], name="sessioncutoff_unique_customer")
        ]

    def __str__(self) -> str:
        return f"sessions of {self.customer_id} revoked before {self.revoked_before}"
