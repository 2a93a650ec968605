"""Errors of the connector layer.

Each carries a stable ``code`` (snake_case, for API.md's error shape) and
``retryable``. Messages are written for a person and never contain a
credential or secret: the code that raises them redacts first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.connectors.definition import Problem
    from apps.connectors.executor import CallTrace


class ConnectorError(Exception):
    code = "connector_error"
    retryable = False

    def __init__(self, message: str, *, trace: CallTrace | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.trace = trace


class DefinitionError(ConnectorError):
    """A connector definition is invalid; ``problems`` says where and why."""

    code = "invalid_connector_definition"

    def __init__(self, problems: list[Problem]) -> None:
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"Invalid connector definition: {shown}{more}")
        self.problems = problems


class UnknownAction(ConnectorError):
    code = "unknown_action"


class InvalidParams(ConnectorError):
    """The call's parameters do not fit the action. ``field`` names the culprit."""

    code = "invalid_params"

    def __init__(self, message: str, *, field: str | None = None, trace: CallTrace | None = None) -> None:
        super().__init__(message, trace=trace)
        self.field = field


class ConnectionConfigError(ConnectorError):
    """The connection lacks a credential or configuration value the connector needs."""

    code = "connection_misconfigured"

    def __init__(self, message: str, *, field: str | None = None, trace: CallTrace | None = None) -> None:
        super().__init__(message, trace=trace)
        self.field = field


class ConnectorTransportError(ConnectorError):
    """The request did not get an HTTP answer (blocked, timeout, connection failure, too large)."""

    code = "connector_unreachable"

    def __init__(self, message: str, *, reason: str, retryable: bool, trace: CallTrace | None = None) -> None:
        super().__init__(message, trace=trace)
        self.reason = reason  # the OutboundError code: blocked_destination, outbound_timeout, ...
        self.retryable = retryable


class ConnectorCallError(ConnectorError):
    """The API answered with an error: HTTP status >= 400, or an error inside a 2xx
    body as the definition's ``errors`` describes. ``body`` is redacted."""

    code = "connector_call_failed"

    def __init__(
        self,
        status: int,
        body: Any,
        message: str,
        *,
        retry_after: float | None = None,
        trace: CallTrace | None = None,
    ) -> None:
        super().__init__(message, trace=trace)
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.retryable = status == 429 or status == 408 or status >= 500

    def __repr__(self) -> str:
        return f"ConnectorCallError(status={self.status}, message={self.message!r})"


class OAuthError(ConnectorError):
    """The token endpoint refused or failed. ``error_code`` is the RFC 6749 code
    (``invalid_grant``, ``invalid_client``, ...) or ``server_error`` /
    ``temporarily_unavailable`` / ``invalid_response`` when the endpoint misbehaved."""

    code = "oauth_error"

    # Codes after which the same request can work later; any other means the
    # connection needs the customer to authorise again (or a config fix).
    RETRYABLE_CODES = frozenset({"temporarily_unavailable", "server_error", "slow_down", "network_error"})

    def __init__(self, error_code: str, description: str = "", *, status: int | None = None) -> None:
        message = f"OAuth token request failed: {error_code}" + (f" ({description})" if description else "")
        super().__init__(message)
        self.error_code = error_code
        self.description = description
        self.status = status
        self.retryable = error_code in self.RETRYABLE_CODES

    def __repr__(self) -> str:
        return f"OAuthError({self.error_code!r}, {self.description!r})"


class SignatureError(ConnectorError):
    """A webhook's signature does not hold. ``reason`` is one of
    ``missing_header``, ``malformed_header``, ``bad_signature``, ``stale_timestamp``."""

    code = "invalid_signature"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class OpenAPIImportError(ConnectorError):
    """An OpenAPI document cannot be turned into a connector; the message says what is wrong."""

    code = "openapi_import_failed"


# --------------------------------------------------------------------------
# Errors of the Django layer, rendered by the API's one exception handler.
# --------------------------------------------------------------------------

from apps.core.errors import Conflict, DependencyUnavailable, InvalidInput, NotFound  # noqa: E402


class InvalidDefinition(InvalidInput):
    """A definition does not validate; ``details.problems`` lists every problem with its JSON path."""

    code = "invalid_connector_definition"

    @classmethod
    def from_problems(cls, problems: list[Problem]) -> InvalidDefinition:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        fields: dict[str, list[str]] = {}
        for problem in problems[:200]:
            fields.setdefault(problem.path, []).append(problem.message)
        return cls(
            f"{first.path}: {first.message}{more}",
            details={"problems": [p.as_dict() for p in problems[:200]], "fields": fields},
        )


class ConnectorNotFound(NotFound):
    code = "connector_not_found"


class ConnectorExists(Conflict):
    code = "connector_exists"


class ConnectorInUse(Conflict):
    code = "connector_in_use"


class ConnectorDisabled(Conflict):
    code = "connector_disabled"


class CatalogEntryNotFound(NotFound):
    code = "catalog_entry_not_found"


class OpenAPIImportFailed(InvalidInput):
    code = "openapi_import_failed"


class ConnectionNotFound(NotFound):
    code = "connection_not_found"


class ConnectionExists(Conflict):
    code = "connection_exists"


class InvalidCredentials(InvalidInput):
    """The credentials do not have the shape the connector's auth needs."""

    code = "invalid_credentials"


class CredentialsRejected(InvalidInput):
    """The provider refused the credentials (the verification request failed)."""

    code = "credentials_rejected"


class ProviderUnreachable(DependencyUnavailable):
    code = "provider_unreachable"


class IllegalTransition(Conflict):
    code = "illegal_status_transition"


class TraceNotFound(NotFound):
    code, default_message = "trace_not_found", "There is no such trace."


class OAuthAppNotFound(NotFound):
    code = "oauth_app_not_found"


class OAuthAppExists(Conflict):
    code = "oauth_app_exists"


class OAuthAppNotConfigured(Conflict):
    code = "oauth_app_not_configured"


class NotAnOAuthConnector(InvalidInput):
    code = "not_an_oauth_connector"


class InvalidOAuthState(InvalidInput):
    code = "invalid_oauth_state"
