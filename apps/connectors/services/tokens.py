"""OAuth tokens of connections: refresh before expiry and after a 401, with
exactly one refresh at a time per connection across every worker.

How "exactly one" holds: a refresh happens inside its own transaction that
holds `SELECT … FOR UPDATE` on the connection's row, and the worker re-reads
the credentials once it has the lock. A worker that waited while another
refreshed finds `credentials_version` moved on and a fresh token, and uses
that token instead of refreshing again. A database row lock (rather than a
Redis lock) is what makes this hold: it lives exactly as long as the
transaction (a worker that dies releases it with its connection — no TTL to
guess against a slow token endpoint), it needs no second service to be up,
and the re-read happens under the same lock that the write commits under.
Waiting is bounded by the call's deadline (`lock_timeout`).

Callers must not hold an open transaction of their own around a call: the
new token becomes visible to other workers when this transaction commits.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from apps.connectors import oauth
from apps.connectors.credentials import credentials_decrypt, credentials_encrypt
from apps.connectors.exceptions import ConnectorError, OAuthError
from apps.connectors.models import Connection
from apps.connectors.services.oauth_apps import OAuthClient, oauth_client_for, oauth_client_for_connection
from apps.connectors.services.status import connection_set_status

Status = Connection.Status
TOKEN_FIELDS = frozenset({"access_token", "refresh_token", "token_type", "expires_at", "expires_in", "scope", "extra"})


class TokenError(Exception):
    """A token could not be had. `code`: needs_reauth, token_refresh_failed,
    token_refresh_timeout, oauth_app_not_configured."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


def refresh_buffer_seconds() -> float:
    return float(settings.FASTN_OAUTH_REFRESH_BUFFER_SECONDS)


def is_client_credentials(auth: Mapping[str, Any]) -> bool:
    return auth.get("type") == "oauth2" and auth.get("grant") == "client_credentials"


def needs_refresh(auth: Mapping[str, Any], credentials: Mapping[str, Any]) -> bool:
    """Whether the access token must be renewed before a call."""
    if auth.get("type") != "oauth2":
        return False
    if not credentials.get("access_token"):
        return is_client_credentials(auth)
    return oauth.is_expired(credentials, buffer_seconds=refresh_buffer_seconds())


def can_refresh(auth: Mapping[str, Any], credentials: Mapping[str, Any]) -> bool:
    if auth.get("type") != "oauth2":
        return False
    if is_client_credentials(auth):
        return True
    return bool(auth.get("refresh", True)) and bool(credentials.get("refresh_token"))


def token_expiry(credentials: Mapping[str, Any]) -> datetime | None:
    epoch = oauth.expiry_epoch(credentials.get("expires_at"))
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch is not None else None


def granted_scopes(credentials: Mapping[str, Any]) -> list[str]:
    scope = credentials.get("scope")
    if not isinstance(scope, str):
        return []
    return [s for s in scope.replace(",", " ").split() if s][:200]


def merge_token(previous: Mapping[str, Any], token: Mapping[str, Any]) -> dict[str, Any]:
    """The credentials after a token answer: the old token's fields replaced
    (a missing refresh token was kept by `normalize_token_response`), other
    fields (a client-credentials connection's client id and secret) kept."""
    kept = {k: v for k, v in previous.items() if k not in TOKEN_FIELDS}
    return {**kept, **token}


def _token_deadline(deadline: float) -> float:
    return min(deadline, time.monotonic() + oauth.TOKEN_CALL_SECONDS)


def client_credentials_client(
    *, connector_slug: str, credentials: Mapping[str, Any], connection: Connection | None = None
) -> OAuthClient | None:
    """The client of a client-credentials connection: its own client id and
    secret when it has them, else the organization's (or platform's) app."""
    if credentials.get("client_id") and credentials.get("client_secret"):
        return OAuthClient(
            connector_slug=connector_slug,
            client_id=str(credentials["client_id"]),
            client_secret=str(credentials["client_secret"]),
            callback_url="",
            scopes=None,
            source="connection",
        )
    if connection is not None and connection.oauth_client_id:
        return oauth_client_for_connection(connection=connection)
    return oauth_client_for(connector_slug=connector_slug)


def client_credentials_fetch(
    *,
    head: Mapping[str, Any],
    client: OAuthClient,
    credentials: Mapping[str, Any],
    config: Mapping[str, Any],
    deadline: float,
) -> dict[str, Any]:
    """A new access token for the client itself (raises OAuthError)."""
    token = oauth.client_credentials_token(
        head,
        client_id=client.client_id,
        client_secret=client.client_secret or "",
        scopes=client.scopes,
        connection_config=config,
        deadline=_token_deadline(deadline),
        allow_private=settings.FASTN_ALLOW_PRIVATE_NETWORK,
    )
    return merge_token(credentials, token)


def _request_token(locked: Connection, head: Mapping[str, Any], credentials: dict[str, Any], deadline: float):
    auth = head["auth"]
    config = locked.config or {}
    if is_client_credentials(auth):
        client = client_credentials_client(
            connector_slug=locked.connector.slug, credentials=credentials, connection=locked
        )
        if client is None:
            raise TokenError("oauth_app_not_configured", _no_client_message(locked))
        return client_credentials_fetch(
            head=head, client=client, credentials=credentials, config=config, deadline=deadline
        )
    client = oauth_client_for_connection(connection=locked)
    if client is None:
        raise TokenError("oauth_app_not_configured", _no_client_message(locked))
    token = oauth.refresh_token(
        head,
        client_id=client.client_id,
        client_secret=client.client_secret,
        refresh_token=str(credentials["refresh_token"]),
        connection_config=config,
        deadline=_token_deadline(deadline),
        allow_private=settings.FASTN_ALLOW_PRIVATE_NETWORK,
    )
    return merge_token(credentials, token)


def _no_client_message(connection: Connection) -> str:
    return (
        f"The OAuth app that issued this connection's tokens ({connection.connector.slug}) is no longer "
        "configured; configure it in Settings → OAuth Apps, or connect again."
    )


def _set_lock_timeout(value: str) -> str:
    """Set this transaction's lock_timeout; return the previous value."""
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)", [value])
        return cursor.fetchone()[0]


def connection_refresh_token(
    *,
    connection: Connection,
    head: Mapping[str, Any],
    seen_version: int,
    deadline: float,
    force: bool = False,
) -> tuple[dict[str, Any], int, bool]:
    """Fresh credentials for `connection`: (credentials, version, refreshed).

    `seen_version` is the `credentials_version` the caller's token came from;
    `force` means that token was refused (a 401), so it is replaced even if it
    does not look expired — unless another worker replaced it already.
    Raises TokenError; `invalid_grant` moves the connection to needs_reauth
    (committed before the error is raised).
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TokenError("token_refresh_timeout", "No time was left to refresh the access token.", retryable=True)
    with transaction.atomic():
        previous_timeout = _set_lock_timeout(f"{max(1, int(remaining * 1000))}ms")
        try:
            result, failure = _refresh_locked(connection, head, seen_version, deadline, force)
        finally:
            # Only matters inside a caller's transaction: SET LOCAL lasts until its end.
            _set_lock_timeout(previous_timeout)
    if failure is not None:
        raise failure
    return result


def _lock(connection: Connection) -> Connection:
    try:
        # A savepoint of its own, so that a lock timeout leaves the
        # surrounding transaction usable.
        with transaction.atomic():
            return (
                Connection.objects.select_for_update(of=("self",))
                .select_related("connector", "customer")
                .get(pk=connection.pk)
            )
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            raise TokenError(
                "token_refresh_timeout",
                "Timed out waiting for another worker to refresh the access token.",
                retryable=True,
            ) from None
        raise
    except Connection.DoesNotExist:
        raise TokenError("needs_reauth", "The connection was deleted.") from None


def _refresh_locked(
    connection: Connection, head: Mapping[str, Any], seen_version: int, deadline: float, force: bool
) -> tuple[Any, TokenError | None]:
    """The refresh, with the row locked. Returns (result, None) or (None, error):
    errors are returned, not raised, so that the status change they caused commits."""
    locked = _lock(connection)
    current = credentials_decrypt(locked.credentials_ciphertext)
    auth = head["auth"]
    if locked.status in (Status.NEEDS_REAUTH, Status.REVOKED):
        return None, TokenError("needs_reauth", _reauth_message(locked, locked.last_error))
    if locked.credentials_version != seen_version and not needs_refresh(auth, current):
        # Another worker refreshed (or the customer reconnected) meanwhile.
        return (current, locked.credentials_version, False), None
    if not force and not needs_refresh(auth, current):
        return (current, locked.credentials_version, False), None
    if not can_refresh(auth, current):
        error = "The access token was refused or has expired, and there is no refresh token."
        connection_set_status(connection=locked, status=Status.NEEDS_REAUTH, error=error)
        return None, TokenError("needs_reauth", _reauth_message(locked, error))
    try:
        refreshed = _request_token(locked, head, current, deadline)
    except OAuthError as exc:
        return None, _refresh_failed(locked, exc)
    except TokenError as exc:
        connection_set_status(connection=locked, status=Status.ERROR, error=exc.message)
        return None, exc
    return (_store_refreshed(locked, head, refreshed), locked.credentials_version, True), None


def _reauth_message(connection: Connection, reason: str) -> str:
    owner = f"Customer {connection.customer.external_id}'s" if connection.customer_id else "The organization's"
    message = f"{owner} connection to {connection.connector.slug} needs to be authorised again"
    return f"{message}: {reason}" if reason else f"{message}."


def _refresh_failed(locked: Connection, exc: OAuthError) -> TokenError:
    reason = exc.message
    if exc.error_code == "invalid_grant":
        connection_set_status(connection=locked, status=Status.NEEDS_REAUTH, error=reason)
        return TokenError("needs_reauth", _reauth_message(locked, reason))
    if exc.retryable:
        connection_set_status(connection=locked, status=locked.status, error=reason)
        return TokenError("token_refresh_failed", reason, retryable=True)
    connection_set_status(connection=locked, status=Status.ERROR, error=reason)
    return TokenError("token_refresh_failed", reason)


def _store_refreshed(locked: Connection, head: Mapping[str, Any], credentials: dict[str, Any]) -> dict[str, Any]:
    config = dict(locked.config or {})
    config.update(oauth.connection_updates_from_token(head, credentials))
    now = timezone.now()
    locked.credentials_ciphertext = credentials_encrypt(credentials)
    locked.credentials_version += 1
    locked.token_expires_at = token_expiry(credentials)
    locked.last_refreshed_at = now
    locked.config = config
    if credentials.get("scope"):
        locked.scopes = granted_scopes(credentials)
    locked.save(
        update_fields=[
            "credentials_ciphertext",
            "credentials_version",
            "token_expires_at",
            "last_refreshed_at",
            "config",
            "scopes",
            "updated_at",
        ]
    )
    if locked.status == Status.ERROR:
        connection_set_status(connection=locked, status=Status.CONNECTED)
    return credentials


def connection_revoke_at_provider(
    *, connection: Connection, head: Mapping[str, Any], credentials: Mapping[str, Any], deadline: float | None = None
) -> str:
    """Revoke the connection's token at the provider as the connector's
    `auth.revocation` (or `revoke_url`, RFC 7009) says. Returns "revoked",
    "not_supported" (no revocation defined, or no token), or the reason it
    failed (an OAuth error code such as "invalid_client" or
    "temporarily_unavailable", "oauth_app_not_configured"); never raises:
    deleting must work when the provider is down."""
    auth = head.get("auth") or {}
    if auth.get("type") != "oauth2" or not (auth.get("revocation") or auth.get("revoke_url")):
        return "not_supported"
    if oauth.revocation_token(head, credentials) is None:
        return "not_supported"
    if is_client_credentials(auth):
        client = client_credentials_client(
            connector_slug=connection.connector.slug, credentials=credentials, connection=connection
        )
    else:
        client = oauth_client_for_connection(connection=connection)
    if client is None:
        return "oauth_app_not_configured"
    try:
        oauth.revoke_token(
            head,
            client_id=client.client_id,
            client_secret=client.client_secret,
            credentials=credentials,
            connection_config=connection.config or {},
            deadline=deadline if deadline is not None else time.monotonic() + 10,
            allow_private=settings.FASTN_ALLOW_PRIVATE_NETWORK,
        )
    except OAuthError as exc:
        return exc.error_code
    except ConnectorError:  # a revocation URL the connection's settings cannot fill
        return "revocation_not_possible"
    return "revoked"
