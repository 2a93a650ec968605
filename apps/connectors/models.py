"""Connectors, their versions, connections, OAuth apps and call traces.

Every table lives in the organization's schema. Definitions are stored as
the organization wrote them (or as the catalogue / OpenAPI import produced
them); code that runs them normalises on read (`apps.connectors.definition`),
which is cheap and keeps one source of truth.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from apps.connectors.fields import OrderedJSONField


class Connector(models.Model):
    """A third-party API this organization can call, as declarative data.

    `definition` is the current definition; every change to it creates a
    `ConnectorVersion` and bumps `current_version`. `name`, `description`,
    `categories`, `auth_type` and `action_count` repeat parts of the
    definition so that lists never load definitions (an imported API can
    hold thousands of actions).
    """

    class Source(models.TextChoices):
        CATALOG = "catalog", "Catalogue"
        CUSTOM = "custom", "Custom"
        OPENAPI = "openapi", "OpenAPI import"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    categories = models.JSONField(default=list, blank=True)
    auth_type = models.CharField(max_length=16)
    action_count = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.CUSTOM)
    catalog_slug = models.SlugField(max_length=63, blank=True)
    definition = OrderedJSONField()
    content_hash = models.CharField(max_length=64)
    current_version = models.PositiveIntegerField(default=1)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=255, blank=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="connector_newest")]

    def __str__(self) -> str:
        return self.slug


class ConnectorVersion(models.Model):
    """An immutable snapshot of a connector's definition.

    A database trigger (migration 0001) refuses every UPDATE, so a version a
    trace points at always shows what was called.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = OrderedJSONField()
    content_hash = models.CharField(max_length=64)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connector", "number"], name="connector_version_unique")]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.connector_id} v{self.number}"


class OAuthApp(models.Model):
    """The organization's own OAuth client for one connector (Settings → OAuth Apps).

    Without one, connections use the platform-managed app from
    `FASTN_PLATFORM_OAUTH_APPS`, when the platform offers one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connector_slug = models.SlugField(max_length=63, unique=True)
    client_id = models.CharField(max_length=512)
    client_secret_ciphertext = models.TextField(blank=True)
    redirect_uri = models.URLField(max_length=2048, blank=True)
    scopes = models.JSONField(null=True, blank=True)  # None: the connector's own scopes
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=255, blank=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at", "-id"], name="oauthapp_newest")]

    def __str__(self) -> str:
        return f"OAuth app for {self.connector_slug}"

    def __repr__(self) -> str:
        return f"<OAuthApp {self.connector_slug} {self.client_id}>"


class Connection(models.Model):
    """One customer's credentials for one connector (or the organization's own,
    with no customer: used by runs that have no customer).

    Credentials are a JSON object encrypted as a whole; `credentials_version`
    goes up each time they change, which is how a worker that waited for a
    token refresh sees that another one already did it.
    """

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_REAUTH = "needs_reauth", "Needs re-authorisation"
        ERROR = "error", "Error"
        REVOKED = "revoked", "Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connector = models.ForeignKey(Connector, on_delete=models.PROTECT, related_name="connections")
    customer = models.ForeignKey(
        "settings.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="connections"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    credentials_ciphertext = models.TextField(blank=True)
    credentials_version = models.PositiveIntegerField(default=1)
    config = models.JSONField(default=dict, blank=True)
    # The provider's id of the connected account (Slack team, Shopify shop
    # domain, GitHub owner…): how inbound app events find this connection.
    # db_default: code deployed before this column keeps inserting rows.
    account_key = models.CharField(max_length=255, blank=True, default="", db_default="")
    oauth_app = models.ForeignKey(OAuthApp, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    oauth_client_id = models.CharField(max_length=512, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            # One live connection per customer and connector (revoked ones are history).
            models.UniqueConstraint(
                fields=["connector", "customer"],
                condition=Q(customer__isnull=False) & ~Q(status="revoked"),
                name="connection_one_per_customer",
            ),
            models.UniqueConstraint(
                fields=["connector"],
                condition=Q(customer__isnull=True) & ~Q(status="revoked"),
                name="connection_one_per_organization",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="connection_newest"),
            models.Index(fields=["customer", "-created_at"], name="connection_customer"),
            models.Index(fields=["connector", "status"], name="connection_connector_status"),
            models.Index(
                fields=["connector", "account_key"], name="connection_account_key", condition=~Q(account_key="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connector_id} connection {self.id}"

    def __repr__(self) -> str:
        return f"<Connection {self.id} {self.status}>"


class OAuthState(models.Model):
    """One authorisation attempt: what the signed `state` of the callback
    stands for. Single use (`consumed_at`), short-lived (`expires_at`), and
    bound to the browser that started it: `binding_hash` is the SHA-256 of
    the binding secret that browser holds in a cookie (empty until the
    browser opens the begin link, for attempts started away from it, e.g.
    by an API key). `started_via` says which kind of session started it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("settings.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    oauth_app = models.ForeignKey(OAuthApp, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    client_id = models.CharField(max_length=512)
    callback_url = models.URLField(max_length=2048)  # the redirect_uri the provider sends the code to
    return_url = models.URLField(max_length=2048)  # where the browser goes when it is done
    code_verifier_ciphertext = models.TextField(blank=True)
    scopes = models.JSONField(default=list, blank=True)
    config = models.JSONField(default=dict, blank=True)
    started_by = models.CharField(max_length=255, blank=True)
    # db_default: code deployed before these columns keeps inserting rows.
    started_via = models.CharField(max_length=32, blank=True, default="", db_default="")
    binding_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The provider's authorisation URL, for the begin link to send the browser on to.
    authorize_url = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="oauthstate_expiry")]

    def __str__(self) -> str:
        return f"OAuth state {self.id}"


class OAuthRedirectUri(models.Model):
    """One entry of the organization's allow-list of OAuth return URLs: where
    `GET /api/v1/oauth/{connector}/authorize?redirect_uri=` may send the
    browser back to (scheme, host and port equal; the path at or below this
    one). The platform's own origin is always allowed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uri = models.CharField(max_length=2048, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["uri"]

    def __str__(self) -> str:
        return self.uri


class CallTrace(models.Model):
    """One connector call: what was asked, what came back, how long it took.

    Never holds a credential: the URL, error and sizes come from the
    executor's redacted `CallTrace`. `execution_id` names the workflow
    execution that made the call (no foreign key: executions belong to the
    workflow engine and may be purged on their own schedule).
    """

    class Origin(models.TextChoices):
        RUN = "run", "Workflow run"
        VERIFY = "verify", "Credential check"
        CONSOLE = "console", "Console"
        POLL = "poll", "Event polling"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connector_slug = models.CharField(max_length=63)
    connector_version = models.PositiveIntegerField(null=True, blank=True)
    action = models.CharField(max_length=128)
    method = models.CharField(max_length=10, blank=True)
    url = models.TextField(blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    request_bytes = models.PositiveBigIntegerField(default=0)
    response_bytes = models.PositiveBigIntegerField(default=0)
    pages = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.RUN)
    execution_id = models.UUIDField(null=True, blank=True)
    # A plain id, not a foreign key: inserting a trace must not wait on the
    # row lock a token refresh holds on the connection.
    connection_id = models.UUIDField(null=True, blank=True)
    customer = models.ForeignKey(
        "settings.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="trace_newest"),
            models.Index(fields=["connector_slug", "-created_at", "-id"], name="trace_connector"),
            models.Index(
                fields=["execution_id", "-created_at", "-id"],
                name="trace_execution",
                condition=Q(execution_id__isnull=False),
            ),
            models.Index(fields=["customer", "-created_at"], name="trace_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.connector_slug}.{self.action} {self.status}"
