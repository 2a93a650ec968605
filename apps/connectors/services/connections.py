"""Writes to connections: connect (with an optional credential check),
reconnect, change settings, check, and delete (revoking at the provider).

Credentials never leave this module in clear except to the executor; audit
rows name the fields that changed, never their values.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.principals import Principal
from apps.connectors import oauth
from apps.connectors.credentials import (
    config_check,
    credentials_check,
    credentials_decrypt,
    credentials_encrypt,
)
from apps.connectors.exceptions import (
    ConnectionExists,
    ConnectionNotFound,
    ConnectorDisabled,
    ConnectorNotFound,
    CredentialsRejected,
    InvalidCredentials,
    OAuthAppNotConfigured,
    OAuthError,
    ProviderUnreachable,
)
from apps.connectors.models import CallTrace, Connection, OAuthState
from apps.connectors.services.calls import (
    ConnectorRunError,
    LoadedConnector,
    connector_call,
    connector_load,
    credentials_verify,
)
from apps.connectors.services.connectors import merge_patch
from apps.connectors.services.oauth_apps import OAuthClient, oauth_client_for
from apps.connectors.services.status import connection_set_status
from apps.connectors.services.tokens import (
    can_refresh,
    client_credentials_client,
    client_credentials_fetch,
    connection_revoke_at_provider,
    granted_scopes,
    is_client_credentials,
    merge_token,
    needs_refresh,
    token_expiry,
)
from apps.core import crypto
from apps.core.errors import InvalidInput
from apps.settings.models import Customer
from apps.settings.services import audit_record

Status = Connection.Status
TOKEN_SECONDS = 15.0


def _owner(customer: Customer | None) -> str | None:
    return customer.external_id if customer is not None else None


def connection_account_key(loaded: LoadedConnector, config: Mapping[str, Any], given: str | None = None) -> str:
    """The provider's id of the connected account, which routes inbound app
    events to this connection: the one given, else the connector's
    `events.webhook.account_key` template over the connection's settings."""
    from apps.connectors.templating import MISSING, TemplateContext, render, text_of

    if given is not None:
        return given.strip()[:255]
    template = ((loaded.definition.get("events") or {}).get("webhook") or {}).get("account_key")
    if not template:
        return ""
    value = render(template, TemplateContext(connection=dict(config)))
    return "" if value is MISSING or value is None else text_of(value)[:255]


def connector_for_connections(*, slug: str) -> LoadedConnector:
    loaded = connector_load(slug=slug)
    if loaded is None:
        raise ConnectorNotFound(
            f"No connector with the slug {slug!r}: install it from the catalogue or create it first."
        )
    if not loaded.enabled:
        raise ConnectorDisabled(f"The connector {slug!r} is disabled.")
    return loaded


def _is_authorization_code(loaded: LoadedConnector) -> bool:
    auth = loaded.head["auth"]
    return auth.get("type") == "oauth2" and not is_client_credentials(auth)


def _client_credentials_token(
    loaded: LoadedConnector, credentials: dict[str, Any], config: dict[str, Any], connection: Connection | None = None
) -> tuple[dict[str, Any], OAuthClient]:
    client = client_credentials_client(connector_slug=loaded.slug, credentials=credentials, connection=connection)
    if client is None:
        raise OAuthAppNotConfigured(
            f"Send client_id and client_secret in the credentials, or configure an OAuth app for {loaded.slug!r} "
            "in Settings → OAuth Apps."
        )
    try:
        token = client_credentials_fetch(
            head=loaded.head,
            client=client,
            credentials=credentials,
            config=config,
            deadline=time.monotonic() + TOKEN_SECONDS,
        )
    except OAuthError as exc:
        if exc.retryable or exc.error_code in ("connection_failed", "outbound_timeout"):
            raise ProviderUnreachable(f"The provider's token endpoint could not be used: {exc.message}") from None
        raise CredentialsRejected(
            f"The provider refused the client credentials: {exc.message}",
            details={"oauth_error": exc.error_code},
        ) from None
    return token, client


def _refreshed_on_arrival(
    loaded: LoadedConnector, credentials: dict[str, Any], config: dict[str, Any]
) -> tuple[dict[str, Any], OAuthClient]:
    """Tokens obtained elsewhere that have expired already: refresh them with
    the connector's OAuth app before checking and storing them."""
    client = oauth_client_for(connector_slug=loaded.slug)
    if client is None:
        raise OAuthAppNotConfigured(
            f"These tokens have expired. Configure the OAuth app for {loaded.slug!r} in Settings → OAuth Apps so "
            "they can be refreshed, or send a current access_token."
        )
    try:
        token = oauth.refresh_token(
            loaded.head,
            client_id=client.client_id,
            client_secret=client.client_secret,
            refresh_token=str(credentials["refresh_token"]),
            connection_config=config,
            deadline=time.monotonic() + TOKEN_SECONDS,
            allow_private=settings.FASTN_ALLOW_PRIVATE_NETWORK,
        )
    except OAuthError as exc:
        if exc.retryable:
            raise ProviderUnreachable(f"The provider's token endpoint could not be used: {exc.message}") from None
        raise CredentialsRejected(
            f"The provider refused the refresh token: {exc.message}", details={"oauth_error": exc.error_code}
        ) from None
    return merge_token(credentials, token), client


def _duplicate(loaded: LoadedConnector, customer: Customer | None) -> ConnectionExists:
    existing = (
        Connection.objects.filter(connector_id=loaded.id, customer=customer)
        .exclude(status=Status.REVOKED)
        .values_list("id", flat=True)
        .first()
    )
    who = f"Customer {customer.external_id}" if customer else "The organization"
    return ConnectionExists(
        f"{who} has a connection to {loaded.slug} already; change it (PATCH) or delete it first.",
        details={"connection_id": str(existing) if existing else None},
    )


def connection_create(
    *,
    actor: Principal,
    connector_slug: str,
    customer: Customer | None,
    credentials: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    verify: bool | None = None,
    account_key: str | None = None,
) -> Connection:
    """Connect `customer` (None: the organization itself) to a connector with
    credentials the caller has. Unless `verify` is False, the connector's
    verify action checks them first (CredentialsRejected with the provider's
    message when they are wrong)."""
    loaded = connector_for_connections(slug=connector_slug)
    auth = loaded.head["auth"]
    if _is_authorization_code(loaded) and not credentials:
        raise InvalidCredentials(
            f"{loaded.slug} connects with OAuth: send the customer to GET /api/v1/oauth/{loaded.slug}/authorize, "
            "or send tokens obtained elsewhere as credentials.access_token.",
            details={"fields": {"credentials.access_token": ["This credential is required."]}},
        )
    credentials = credentials_check(loaded.head, credentials)
    config = config_check(loaded.head, config, require=auth.get("type") != "oauth2")
    if Connection.objects.filter(connector_id=loaded.id, customer=customer).exclude(status=Status.REVOKED).exists():
        raise _duplicate(loaded, customer)
    connection_id = uuid.uuid4()
    client: OAuthClient | None = None
    if is_client_credentials(auth):
        credentials, client = _client_credentials_token(loaded, credentials, config)
    elif _is_authorization_code(loaded) and needs_refresh(auth, credentials) and can_refresh(auth, credentials):
        credentials, client = _refreshed_on_arrival(loaded, credentials, config)
    verified = False
    if verify is not False:
        verified = credentials_verify(
            loaded=loaded,
            credentials=credentials,
            config=config,
            customer_id=customer.pk if customer else None,
            connection_id=connection_id,
        )
    now = timezone.now()
    _count_connection(customer)
    try:
        with transaction.atomic():
            connection = Connection.objects.create(
                id=connection_id,
                connector_id=loaded.id,
                customer=customer,
                status=Status.CONNECTED,
                credentials_ciphertext=credentials_encrypt(credentials),
                config=config,
                account_key=connection_account_key(loaded, config, account_key),
                oauth_app=client.app if client else None,
                oauth_client_id=client.client_id if client and client.source != "connection" else "",
                scopes=granted_scopes(credentials),
                token_expires_at=token_expiry(credentials),
                last_verified_at=now if verified else None,
                status_changed_at=now,
                created_by=actor.label[:255],
            )
    except IntegrityError:
        _uncount_connection(customer)
        raise _duplicate(loaded, customer) from None
    except BaseException:
        _uncount_connection(customer)
        raise
    audit_record(
        actor=actor,
        action="connection.create",
        resource_type="connection",
        resource_id=str(connection.pk),
        changes={
            "connector": loaded.slug,
            "customer": _owner(customer),
            "credentials": sorted(credentials),  # the field names only
            "config": config,
            "account_key": connection.account_key or None,
            "verified": verified,
        },
    )
    return connection


def connection_connect_oauth(
    *,
    actor: Principal | None,
    loaded: LoadedConnector,
    customer: Customer | None,
    credentials: dict[str, Any],
    config: Mapping[str, Any],
    client: OAuthClient,
) -> tuple[Connection, bool]:
    """Store tokens from an OAuth authorisation: a new connection, or new
    tokens for the customer's existing one (reconnecting). Returns
    (connection, created)."""
    now = timezone.now()
    fields = {
        "credentials_ciphertext": credentials_encrypt(credentials),
        "oauth_app": client.app,
        "oauth_client_id": client.client_id,
        "scopes": granted_scopes(credentials),
        "token_expires_at": token_expiry(credentials),
        "last_verified_at": now,
    }
    counted = False
    try:
        with transaction.atomic():
            existing = (
                Connection.objects.select_for_update()
                .filter(connector_id=loaded.id, customer=customer)
                .exclude(status=Status.REVOKED)
                .first()
            )
            if existing is None:
                _count_connection(customer)
                counted = True
                connection = Connection.objects.create(
                    connector_id=loaded.id,
                    customer=customer,
                    status=Status.CONNECTED,
                    config=dict(config),
                    account_key=connection_account_key(loaded, config),
                    status_changed_at=now,
                    created_by=(actor.label if actor else "oauth")[:255],
                    **fields,
                )
                created = True
            else:
                connection = existing
                for name, value in fields.items():
                    setattr(connection, name, value)
                connection.config = {**(existing.config or {}), **config}
                connection.account_key = connection_account_key(loaded, connection.config) or connection.account_key
                connection.credentials_version += 1
                connection.save()
                if connection.status != Status.CONNECTED:
                    connection_set_status(connection=connection, status=Status.CONNECTED, actor=actor)
                created = False
    except BaseException:
        if counted:
            _uncount_connection(customer)
        raise
    audit_record(
        actor=actor,
        action="connection.create" if created else "connection.reconnect",
        resource_type="connection",
        resource_id=str(connection.pk),
        changes={
            "connector": loaded.slug,
            "customer": _owner(customer),
            "via": "oauth",
            "oauth_app": client.source,
            "scopes": connection.scopes,
            "config": connection.config,
        },
    )
    return connection, created


def connection_update(
    *,
    actor: Principal,
    connection: Connection,
    credentials: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    verify: bool | None = None,
    account_key: str | None = None,
) -> Connection:
    """New credentials (reconnecting: the status becomes connected) and/or
    settings (a merge patch: null removes a setting)."""
    loaded = connector_for_connections(slug=connection.connector.slug)
    auth = loaded.head["auth"]
    changed: list[str] = []
    new_config = dict(connection.config or {})
    if config is not None:
        if not isinstance(config, Mapping):
            raise InvalidInput.for_field("config", "Must be a JSON object.")
        new_config = config_check(loaded.head, merge_patch(new_config, config), require=auth.get("type") != "oauth2")
        changed.append("config")
    new_credentials = None
    client: OAuthClient | None = None
    if credentials is not None:
        new_credentials = credentials_check(loaded.head, credentials)
        if is_client_credentials(auth):
            new_credentials, client = _client_credentials_token(loaded, new_credentials, new_config, connection)
        changed.append("credentials")
    new_account_key = connection.account_key
    if account_key is not None:
        new_account_key = connection_account_key(loaded, new_config, account_key)
    elif config is not None:
        new_account_key = connection_account_key(loaded, new_config) or connection.account_key
    if new_account_key != connection.account_key:
        changed.append("account_key")
    if not changed:
        return connection
    verified = False
    if new_credentials is not None and verify is not False:
        verified = credentials_verify(
            loaded=loaded,
            credentials=new_credentials,
            config=new_config,
            customer_id=connection.customer_id,
            connection_id=connection.pk,
        )
    with transaction.atomic():
        locked = (
            Connection.objects.select_for_update(of=("self",))
            .select_related("connector", "customer")
            .get(pk=connection.pk)
        )
        if locked.status == Status.REVOKED:
            raise ConnectionNotFound("No connection with this id.")
        locked.config = new_config
        locked.account_key = new_account_key
        if new_credentials is not None:
            locked.credentials_ciphertext = credentials_encrypt(new_credentials)
            locked.credentials_version += 1
            locked.scopes = granted_scopes(new_credentials)
            locked.token_expires_at = token_expiry(new_credentials)
            if client is not None:
                locked.oauth_app = client.app
                locked.oauth_client_id = client.client_id if client.source != "connection" else ""
            if verified:
                locked.last_verified_at = timezone.now()
        locked.save()
        if new_credentials is not None and locked.status != Status.CONNECTED:
            connection_set_status(connection=locked, status=Status.CONNECTED, actor=actor)
    audit_record(
        actor=actor,
        action="connection.update",
        resource_type="connection",
        resource_id=str(locked.pk),
        changes={
            "changed": changed,
            "config": new_config if "config" in changed else None,
            "account_key": new_account_key if "account_key" in changed else None,
            "credentials": sorted(new_credentials) if new_credentials is not None else None,
            "verified": verified,
        },
    )
    return locked


def _count_connection(customer: Customer | None) -> None:
    """Count a new connection against the plan's and the customer's limit
    (429 QuotaExceeded on a hard block; nothing is created then)."""
    from apps.billing.services import quota_consume
    from apps.core.tenancy import current_organization

    quota_consume(
        organization=current_organization(),
        meter="connections",
        customer_external_id=customer.external_id if customer else None,
    )


def _uncount_connection(customer: Customer | None) -> None:
    from apps.billing.services import quota_release
    from apps.core.tenancy import current_organization

    quota_release(
        organization=current_organization(),
        meter="connections",
        customer_external_id=customer.external_id if customer else None,
    )


def connection_revoke(
    *, actor: Principal | None, connection: Connection, reason: str = "", deadline: float | None = None
) -> str:
    """Disconnect: revoke the token at the provider where the connector says
    how (`auth.revocation`; best effort: a provider that is down does not
    keep a customer connected), wipe the credentials and mark the connection
    revoked (kept as history). Audits `connection.delete` and, when the
    provider was asked, `connection.provider_revocation` with its outcome
    (success, or error with the reason). Returns the revocation's outcome:
    "revoked", "not_supported", or why it failed. ConnectionNotFound when it
    was revoked already. The one service behind DELETE /api/v1/connections/{id},
    the dashboard, the widget's Disconnect and deleting a customer."""
    loaded = connector_load(slug=connection.connector.slug)
    credentials = credentials_decrypt(connection.credentials_ciphertext) if connection.credentials_ciphertext else {}
    outcome = "not_supported"
    if loaded is not None:
        outcome = connection_revoke_at_provider(
            connection=connection, head=loaded.head, credentials=credentials, deadline=deadline
        )
    with transaction.atomic():
        locked = (
            Connection.objects.select_for_update(of=("self",))
            .select_related("connector", "customer")
            .filter(pk=connection.pk)
            .first()
        )
        if locked is None or locked.status == Status.REVOKED:
            raise ConnectionNotFound("No connection with this id.")
        connection_set_status(
            connection=locked,
            status=Status.REVOKED,
            actor=actor,
            extra_fields={
                "credentials_ciphertext": "",
                "credentials_version": locked.credentials_version + 1,
                "revoked_at": timezone.now(),
                "token_expires_at": None,
            },
        )
    _uncount_connection(connection.customer)
    facts = {"connector": connection.connector.slug, "customer": _owner(connection.customer)}
    if reason:
        facts["reason"] = reason
    if outcome != "not_supported":
        audit_record(
            actor=actor,
            action="connection.provider_revocation",
            resource_type="connection",
            resource_id=str(connection.pk),
            outcome="success" if outcome == "revoked" else "error",
            changes={**facts, "result": outcome},
        )
    audit_record(
        actor=actor,
        action="connection.delete",
        resource_type="connection",
        resource_id=str(connection.pk),
        changes={**facts, "provider_revocation": outcome},
    )
    return outcome


def connection_delete(*, actor: Principal, connection: Connection) -> str:
    """Delete a connection: `connection_revoke`."""
    return connection_revoke(actor=actor, connection=connection)


def customer_connections_revoke(*, actor: Principal | None, customer: Customer) -> dict[str, str]:
    """Revoke every live connection of a customer (it is being deleted), one
    after the other within FASTN_CUSTOMER_REVOKE_SECONDS in all: a provider
    that does not answer in time is recorded as failed, never waited on
    past it. Returns {connection id: outcome}."""
    outcomes: dict[str, str] = {}
    stop = time.monotonic() + settings.FASTN_CUSTOMER_REVOKE_SECONDS
    live = Connection.objects.select_related("connector", "customer").filter(customer=customer)
    for connection in live.exclude(status=Status.REVOKED).order_by("created_at"):
        left = stop - time.monotonic()
        try:
            outcomes[str(connection.pk)] = connection_revoke(
                actor=actor,
                connection=connection,
                reason="customer.delete",
                deadline=time.monotonic() + min(10.0, max(left, 0.1)),
            )
        except ConnectionNotFound:  # revoked meanwhile by someone else
            continue
    return outcomes


@dataclass(frozen=True)
class VerifyOutcome:
    ok: bool
    message: str
    status: int | None = None
    code: str = ""


def connection_verify(*, actor: Principal, connection: Connection) -> VerifyOutcome:
    """Check a stored connection with the connector's verify action now.
    Credentials the provider refuses (401/403) mark it needs_reauth."""
    loaded = connector_for_connections(slug=connection.connector.slug)
    verify = loaded.head.get("verify")
    if not verify:
        raise InvalidInput(f"The connector {loaded.slug!r} has no verify action.", code="no_verify_action")
    try:
        connector_call(
            connector_slug=loaded.slug,
            action=verify,
            params={},
            customer_id=connection.customer_id,
            deadline=time.monotonic() + TOKEN_SECONDS,
            origin=CallTrace.Origin.VERIFY,
        )
    except ConnectorRunError as exc:
        outcome = VerifyOutcome(False, exc.message, exc.status, exc.code)
        connection.refresh_from_db()
        if exc.code == "http_error" and exc.status in (401, 403) and connection.status != Status.NEEDS_REAUTH:
            connection_set_status(connection=connection, status=Status.NEEDS_REAUTH, error=exc.message, actor=actor)
        elif connection.status not in (Status.NEEDS_REAUTH, Status.REVOKED):
            connection_set_status(connection=connection, status=connection.status, error=exc.message)
    else:
        outcome = VerifyOutcome(True, "The provider accepted the credentials.")
        Connection.objects.filter(pk=connection.pk).update(last_verified_at=timezone.now())
        connection.refresh_from_db()
    audit_record(
        actor=actor,
        action="connection.verify",
        resource_type="connection",
        resource_id=str(connection.pk),
        changes={"ok": outcome.ok, "code": outcome.code or None, "provider_status": outcome.status},
    )
    return outcome


def connections_rotate_encryption() -> int:
    """Re-encrypt every connection's credentials and every pending PKCE verifier
    under the newest key. Returns the count."""
    count = 0
    for connection in Connection.objects.select_for_update().exclude(credentials_ciphertext=""):
        # A plain UPDATE of the ciphertext: the credentials_version stays, as
        # the credentials themselves did not change.
        Connection.objects.filter(pk=connection.pk).update(
            credentials_ciphertext=crypto.rotate(connection.credentials_ciphertext)
        )
        count += 1
    for state in OAuthState.objects.select_for_update().exclude(code_verifier_ciphertext=""):
        OAuthState.objects.filter(pk=state.pk).update(
            code_verifier_ciphertext=crypto.rotate(state.code_verifier_ciphertext)
        )
        count += 1
    return count
