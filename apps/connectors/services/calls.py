"""Calling connector actions with a customer's connection: the function the
workflow runtime's `fastn.connector` uses, the API console, and credential
checks. Each call resolves the connection, keeps its OAuth token fresh, runs
the executor within the deadline and writes one trace row.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings

from apps.connectors.credentials import credentials_decrypt, secret_values
from apps.connectors.definition import definition_head
from apps.connectors.exceptions import (
    ConnectionConfigError,
    ConnectorCallError,
    ConnectorError,
    ConnectorTransportError,
    CredentialsRejected,
    InvalidParams,
    ProviderUnreachable,
    UnknownAction,
)
from apps.connectors.executor import ActionResult, execute_action
from apps.connectors.models import CallTrace, Connection, Connector
from apps.connectors.services.inflight import inflight_start
from apps.connectors.services.status import connection_set_status
from apps.connectors.services.tokens import TokenError, connection_refresh_token, needs_refresh
from apps.connectors.services.traces import call_trace_record
from apps.core.crypto import DecryptionFailed
from apps.core.errors import InvalidInput

Status = Connection.Status
_MISSING: Final = object()


class ConnectorRunError(Exception):
    """A connector call failed. `as_error_dict()` is what the workflow sees
    (the rejected Error's fields).

    `code`: unknown_connector, connector_disabled, unknown_action,
    invalid_params, no_connection, needs_reauth, connection_misconfigured,
    http_error (with `status` and the redacted `body`), transport_error,
    token_refresh_failed, token_refresh_timeout, oauth_app_not_configured.
    The message never holds a credential.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        body: Any = _MISSING,
        retryable: bool = False,
        trace_id: uuid.UUID | None = None,
        secret_values: Iterable[str] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.body = body
        self.retryable = retryable
        self.trace_id = trace_id
        self.secret_values = tuple(secret_values)

    def as_error_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "name": "ConnectorError", "code": self.code}
        if self.status is not None:
            error["status"] = self.status
        if self.body is not _MISSING:
            error["body"] = self.body
        return error

    def __repr__(self) -> str:
        return f"ConnectorRunError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class ConnectorRunResult:
    """A successful call. `value` is what the workflow's `await` resolves to."""

    value: Any
    secret_values: tuple[str, ...]
    connector_version: int
    status: int
    pages: int
    truncated: bool
    trace_id: uuid.UUID | None
    headers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------
# Definitions, cached by content hash
# --------------------------------------------------------------------------


class _DefinitionCache:
    """Definitions by content hash, for this process. Content-addressed, so
    nothing ever needs invalidating; bounded, because an imported API's
    definition can be megabytes."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[dict[str, Any], dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: tuple[dict[str, Any], dict[str, Any]]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_definitions = _DefinitionCache(64)


@dataclass(frozen=True)
class LoadedConnector:
    id: uuid.UUID
    slug: str
    enabled: bool
    version: int
    definition: dict[str, Any]  # as stored; never mutated (shared by the cache)
    head: dict[str, Any]  # normalised, without actions: auth, connection_config, verify...


def connector_load(*, slug: str) -> LoadedConnector | None:
    """The connector's current definition (from the cache when its hash is known)."""
    row = Connector.objects.filter(slug=slug).values("id", "slug", "enabled", "current_version", "content_hash").first()
    if row is None:
        return None
    cached = _definitions.get(row["content_hash"])
    if cached is None:
        # Read the definition with its version and hash, so all three agree
        # even if the connector changed since the first query.
        full = Connector.objects.filter(pk=row["id"]).values("definition", "current_version", "content_hash").first()
        if full is None:
            return None
        cached = (full["definition"], definition_head(full["definition"]))
        _definitions.put(full["content_hash"], cached)
        row.update(current_version=full["current_version"])
    return LoadedConnector(row["id"], row["slug"], row["enabled"], row["current_version"], cached[0], cached[1])


# --------------------------------------------------------------------------
# The call
# --------------------------------------------------------------------------


def _connection_for(connector_id: uuid.UUID, customer_id: uuid.UUID | None) -> Connection | None:
    queryset = Connection.objects.select_related("connector", "customer").filter(connector_id=connector_id)
    queryset = queryset.filter(customer_id=customer_id) if customer_id else queryset.filter(customer__isnull=True)
    return queryset.exclude(status=Status.REVOKED).first()


def _owner_label(customer_id: uuid.UUID | None) -> str:
    if customer_id is None:
        return "This organization"
    from apps.settings.models import Customer

    external_id = Customer.objects.filter(pk=customer_id).values_list("external_id", flat=True).first()
    return f"Customer {external_id}" if external_id else f"Customer {customer_id}"


def _error_from(exc: ConnectorError) -> tuple[str, dict[str, Any]]:
    if isinstance(exc, ConnectorCallError):
        return "http_error", {"status": exc.status, "body": exc.body, "retryable": exc.retryable}
    if isinstance(exc, ConnectorTransportError):
        return "transport_error", {"retryable": exc.retryable}
    if isinstance(exc, InvalidParams):
        return "invalid_params", {}
    if isinstance(exc, UnknownAction):
        return "unknown_action", {}
    if isinstance(exc, ConnectionConfigError):
        return "connection_misconfigured", {}
    return exc.code, {}


@dataclass
class _Call:
    """One connector call's fixed context, and its trace writer."""

    loaded: LoadedConnector | None
    slug: str
    action: str
    origin: str
    execution_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    secrets: tuple[str, ...]
    workflow_slug: str = ""
    connection_id: uuid.UUID | None = None
    found_secrets: list[str] = field(default_factory=list)

    def record(self, *, result: ActionResult | None = None, exc: ConnectorError | None = None, **fields: Any):
        trace = result.trace if result is not None else (exc.trace if exc is not None else None)
        method = fields.pop("method", "")
        if not method and self.loaded is not None:
            method = str((self.loaded.definition.get("actions") or {}).get(self.action, {}).get("method", "")).upper()
        row = call_trace_record(
            connector_slug=self.slug,
            action=self.action,
            connector_version=self.loaded.version if self.loaded else None,
            trace=trace,
            method=method,
            origin=self.origin,
            execution_id=self.execution_id,
            connection_id=self.connection_id,
            customer_id=self.customer_id,
            workflow_slug=self.workflow_slug,
            secrets=[*self.secrets, *self.found_secrets],
            **fields,
        )
        return row.pk if row is not None else None

    def fail(self, code: str, message: str, **extra: Any) -> ConnectorRunError:
        trace_id = self.record(error=message, error_code=code)
        return ConnectorRunError(code, message, trace_id=trace_id, secret_values=self.found_secrets, **extra)

    def fail_from(self, exc: ConnectorError) -> ConnectorRunError:
        code, extra = _error_from(exc)
        trace_id = self.record(exc=exc, error_code=code)
        return ConnectorRunError(code, exc.message, trace_id=trace_id, secret_values=self.found_secrets, **extra)

    def fail_token(self, exc: TokenError) -> ConnectorRunError:
        trace_id = self.record(error=exc.message, error_code=exc.code)
        return ConnectorRunError(
            exc.code, exc.message, retryable=exc.retryable, trace_id=trace_id, secret_values=self.found_secrets
        )


def connector_call(
    *,
    connector_slug: str,
    action: str,
    params: Any,
    customer_id: uuid.UUID | None,
    deadline: float,
    execution_id: uuid.UUID | None = None,
    secrets: Iterable[str] = (),
    origin: str = CallTrace.Origin.RUN,
    workflow_slug: str = "",
) -> ConnectorRunResult:
    """Run `action` of the organization's connector `connector_slug` with the
    connection of `customer_id` (None: the organization's own connection).
    See `connector_call_for_run` for the contract."""
    call = _Call(
        loaded=connector_load(slug=connector_slug),
        slug=str(connector_slug),
        action=str(action),
        origin=origin,
        execution_id=execution_id,
        customer_id=customer_id,
        secrets=tuple(s for s in secrets if isinstance(s, str)),
        workflow_slug=str(workflow_slug or "")[:100],
    )
    loaded = call.loaded
    if loaded is None:
        raise call.fail("unknown_connector", f"There is no connector {connector_slug!r} in this organization.")
    if not loaded.enabled:
        raise call.fail("connector_disabled", f"The connector {connector_slug!r} is disabled.")
    if action not in (loaded.definition.get("actions") or {}):
        raise call.fail("unknown_action", f"The connector {connector_slug!r} has no action {action!r}.")
    if not isinstance(params, Mapping):
        raise call.fail("invalid_params", "The parameters of a connector call must be an object.")

    auth = loaded.head["auth"]
    connection = _connection_for(loaded.id, customer_id)
    if connection is None and auth.get("type") != "none":
        raise call.fail("no_connection", f"{_owner_label(customer_id)} has no connection to {connector_slug}.")
    call.connection_id = connection.pk if connection is not None else None
    credentials: dict[str, Any] = {}
    version = 0
    config: dict[str, Any] = {}
    if connection is not None:
        try:
            credentials = credentials_decrypt(connection.credentials_ciphertext)
        except DecryptionFailed:
            raise call.fail(
                "connection_misconfigured",
                f"The credentials of {_owner_label(customer_id).lower()}'s connection to {connector_slug} cannot "
                "be decrypted with the configured FASTN_ENCRYPTION_KEYS; connect again or restore the key.",
            ) from None
        call.found_secrets.extend(secret_values(credentials))
        version, config = connection.credentials_version, dict(connection.config or {})
        if connection.status == Status.NEEDS_REAUTH:
            raise call.fail(
                "needs_reauth",
                f"{_owner_label(customer_id)}'s connection to {connector_slug} needs to be authorised again"
                + (f": {connection.last_error}" if connection.last_error else "."),
            )
        if needs_refresh(auth, credentials):
            try:
                credentials, version, _ = connection_refresh_token(
                    connection=connection, head=loaded.head, seen_version=version, deadline=deadline
                )
            except TokenError as exc:
                raise call.fail_token(exc) from None
            call.found_secrets.extend(secret_values(credentials))

    method = str((loaded.definition.get("actions") or {}).get(action, {}).get("method", "")).upper()
    inflight = inflight_start(
        connector_slug=call.slug,
        action=call.action,
        method=method,
        deadline_epoch=time.time() + max(deadline - time.monotonic(), 0.0),
        execution_id=execution_id,
        customer_id=customer_id,
        workflow_slug=call.workflow_slug,
    )
    try:
        return _call_with_refresh(call, loaded, action, params, credentials, config, version, connection, deadline)
    finally:
        inflight.end()


def _call_with_refresh(
    call: _Call,
    loaded: LoadedConnector,
    action: str,
    params: Mapping[str, Any],
    credentials: dict[str, Any],
    config: dict[str, Any],
    version: int,
    connection: Connection | None,
    deadline: float,
) -> ConnectorRunResult:
    """The HTTP part of `connector_call`: run the action, refreshing an OAuth token once on 401."""
    auth = loaded.head["auth"]
    for attempt in (1, 2):
        try:
            result = execute_action(
                loaded.definition,
                action,
                params,
                credentials=credentials,
                connection_config=config,
                deadline=deadline,
                allow_private=settings.FASTN_ALLOW_PRIVATE_NETWORK,
                extra_secrets=call.secrets,
                trace_body_bytes=settings.FASTN_CALL_TRACE_BODY_BYTES,
            )
        except ConnectorCallError as exc:
            if exc.status == 401 and attempt == 1 and connection is not None and auth.get("type") == "oauth2":
                refused_trace = call.record(exc=exc, error_code="http_error")
                try:
                    credentials, version, _ = connection_refresh_token(
                        connection=connection, head=loaded.head, seen_version=version, deadline=deadline, force=True
                    )
                except TokenError as token_error:
                    raise ConnectorRunError(
                        token_error.code,
                        token_error.message,
                        retryable=token_error.retryable,
                        trace_id=refused_trace,
                        secret_values=call.found_secrets,
                    ) from None
                call.found_secrets.extend(secret_values(credentials))
                continue
            raise call.fail_from(exc) from None
        except ConnectorError as exc:
            raise call.fail_from(exc) from None
        trace_id = call.record(result=result)
        if connection is not None and connection.status == Status.ERROR:
            connection_set_status(connection=connection, status=Status.CONNECTED)
        return ConnectorRunResult(
            value=result.data,
            secret_values=tuple(dict.fromkeys(call.found_secrets)),
            connector_version=loaded.version,
            status=result.status,
            pages=result.pages,
            truncated=result.truncated,
            trace_id=trace_id,
            headers=result.headers,
        )
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def connector_call_for_run(
    *,
    connector_slug: str,
    action: str,
    params: dict,
    customer_id: uuid.UUID | None,
    deadline: float,
    execution_id: uuid.UUID | None,
    secrets: Iterable[str] = (),
    workflow_slug: str = "",
) -> ConnectorRunResult:
    """Run one connector action for a workflow execution: what the QuickJS
    Host calls for the `connector.call` host op (`fastn.connector['slug']
    .action(params)` and `fastn.connector.call(slug, action, params)`).

    Preconditions: the database connection is in the organization's schema
    (the caller sets it), and the caller holds no open transaction (an OAuth
    refresh commits its own, so other workers see the new token). Safe to
    call from several threads at once, each with its own DB connection.

    - `customer_id`: the run's customer (`Customer.pk`); None for a run
      without a customer, which uses the organization's own connection.
    - `deadline`: a `time.monotonic()` instant; the whole call — waiting for
      a token refresh, retries after 429/5xx (honouring `Retry-After`),
      pagination — ends by then.
    - `secrets`: values the run knows are secret (from `fastn.secrets`);
      they are redacted from the trace and from error messages and bodies.
    - `params`: the action's parameters; `_paginate: true` follows the
      action's pagination (`_max_pages`, default 10) and returns all items.

    Returns a `ConnectorRunResult`: `value` is the parsed JSON body (at the
    action's `output.path`), the list of all items when paginating, the text
    of a non-JSON body, or None for an empty one; `secret_values` are the
    connection's credential strings (including tokens refreshed during the
    call), for the runtime to redact from the run's output and logs;
    `connector_version` is the version that was called.

    Raises `ConnectorRunError`; `as_error_dict()` gives
    `{"message", "name": "ConnectorError", "code", "status"?, "body"?}` with
    codes such as `no_connection` ("Customer X has no connection to
    hubspot."), `needs_reauth`, `http_error` (status >= 400 after the OAuth
    refresh-and-retry-once on 401), `transport_error`, `invalid_params`,
    `unknown_action`, `unknown_connector`, `connector_disabled`.

    Every call, successful or not, writes one `CallTrace` row (two when a
    401 led to a refresh and a retry) with the connector version and
    `execution_id`, and never a credential.
    """
    return connector_call(
        connector_slug=connector_slug,
        action=action,
        params=params,
        customer_id=customer_id,
        deadline=deadline,
        execution_id=execution_id,
        secrets=secrets,
        origin=CallTrace.Origin.RUN,
        workflow_slug=workflow_slug,
    )


# --------------------------------------------------------------------------
# Checking credentials
# --------------------------------------------------------------------------

VERIFY_SECONDS: Final = 15.0
# Calls made from the API console or the dashboard.
CONSOLE_SECONDS: Final = 30.0


def credentials_verify(
    *,
    loaded: LoadedConnector,
    credentials: Mapping[str, Any],
    config: Mapping[str, Any],
    customer_id: uuid.UUID | None,
    connection_id: uuid.UUID | None,
    secrets: Iterable[str] = (),
) -> bool:
    """Call the connector's verify action with credentials not stored yet.
    Returns False when the connector has no verify action; raises
    CredentialsRejected (400, with the provider's message),
    ProviderUnreachable (503) or InvalidInput. Writes a trace."""
    verify = loaded.head.get("verify")
    if not verify:
        return False
    call = _Call(
        loaded=loaded,
        slug=loaded.slug,
        action=verify,
        origin=CallTrace.Origin.VERIFY,
        execution_id=None,
        customer_id=customer_id,
        secrets=tuple(secrets),
        connection_id=connection_id,
        found_secrets=secret_values(credentials),
    )
    try:
        result = execute_action(
            loaded.definition,
            verify,
            {},
            credentials=credentials,
            connection_config=config,
            deadline=time.monotonic() + VERIFY_SECONDS,
            allow_private=settings.FASTN_ALLOW_PRIVATE_NETWORK,
            extra_secrets=call.secrets,
        )
    except ConnectorError as exc:
        call.record(exc=exc, error_code=_error_from(exc)[0])
        raise verification_error(exc) from None
    call.record(result=result)
    return True


def verification_error(exc: ConnectorError) -> Exception:
    """The API error for a failed credential check."""
    if isinstance(exc, ConnectorCallError):
        detail = exc.message.split(": ", 1)[1] if ": " in exc.message else ""
        message = f"The provider refused these credentials (HTTP {exc.status})" + (f": {detail}" if detail else ".")
        return CredentialsRejected(message, details={"provider_status": exc.status, "provider_body": exc.body})
    if isinstance(exc, ConnectorTransportError):
        if exc.reason == "blocked_destination":
            return InvalidInput(
                f"The connector's API address is not allowed: {exc.message}", code="destination_blocked"
            )
        return ProviderUnreachable(f"Could not reach the provider to check the credentials: {exc.message}")
    if isinstance(exc, ConnectionConfigError):
        return InvalidInput.for_field(f"config.{exc.field}" if exc.field else "config", exc.message)
    return InvalidInput(f"The credentials could not be checked: {exc.message}", code="verification_failed")
