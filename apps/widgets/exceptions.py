"""Errors of widgets and the end-user API, rendered by apps.core.errors."""

from __future__ import annotations

from apps.core.errors import Conflict, FastnError, NotFound, PermissionDenied


class SessionNotFound(NotFound):
    code = "session_not_found"


class OriginNotAllowed(PermissionDenied):
    code = "origin_not_allowed"


class IntegrationNotAllowed(PermissionDenied):
    code = "integration_not_allowed"


class TemplateNotFound(NotFound):
    code = "template_not_found"


class TemplateExists(Conflict):
    code = "template_exists"


class TemplateNotDeployed(Conflict):
    code = "not_deployed"


class ConnectorNotConnected(Conflict):
    code = "connector_not_connected"


class ExecutionNotFound(NotFound):
    code = "execution_not_found"


class ConnectionNotFound(NotFound):
    code = "connection_not_found"


class InvalidOAuthPopup(FastnError):
    status, code = 400, "invalid_oauth_popup"
