"""Domain errors and the one place that turns errors into API responses.

Every app raises subclasses of `FastnError` (in its own `exceptions.py`);
`api_exception_handler` renders them, and DRF's and Django's own errors, in
the shape of API.md:

    {"error": {"code": "snake_case", "message": "A sentence.", "details": {...}}}
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class FastnError(Exception):
    """An error a client can act on. Subclasses fix `status` and `code`."""

    status: int = 400
    code: str = "bad_request"
    default_message: str = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.message)


class InvalidInput(FastnError):
    status, code, default_message = 400, "invalid_input", "The request is not valid."

    @classmethod
    def for_field(cls, field: str, message: str, *, code: str | None = None) -> InvalidInput:
        return cls(f"{field}: {message}", code=code, details={"fields": {field: [message]}})


class NotAuthenticated(FastnError):
    status, code, default_message = 401, "not_authenticated", "Authentication is required."


class PermissionDenied(FastnError):
    status, code, default_message = 403, "permission_denied", "You do not have permission to do this."


class NotFound(FastnError):
    status, code, default_message = 404, "not_found", "Not found."


class Conflict(FastnError):
    status, code, default_message = 409, "conflict", "The request conflicts with the current state."


class PayloadTooLarge(FastnError):
    status, code, default_message = 413, "payload_too_large", "The request body is too large."


class InvalidWorkflow(FastnError):
    status, code, default_message = 422, "invalid_workflow", "The workflow's code does not compile."


class QuotaExceeded(FastnError):
    status, code, default_message = 429, "quota_exceeded", "A quota was exceeded."


class DependencyUnavailable(FastnError):
    status, code, default_message = 503, "dependency_unavailable", "A service Fastn depends on is unavailable."


NOT_AUTHENTICATED_MESSAGE = (
    "Authenticate with an API key in x-fastn-access-key and your account id in x-fastn-account-id."
)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JsonResponse:
    """A plain Django JSON error, for places outside DRF (middleware, handlers)."""
    return JsonResponse(error_body(code, message, details), status=status)


def _flatten_field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure → {"dotted.field": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            out.update(_flatten_field_errors(value, path))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out[prefix or "body"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                out.update(_flatten_field_errors(item, f"{prefix}[{index}]" if prefix else f"[{index}]"))
    else:
        out[prefix or "body"] = [str(detail)]
    return out


def validation_error_response(detail: Any) -> Response:
    fields = _flatten_field_errors(detail)
    first_field, messages = next(iter(fields.items()), ("body", ["Invalid input."]))
    message = messages[0] if first_field == "body" else f"{first_field}: {messages[0]}"
    return Response(error_body("invalid_input", message, {"fields": fields}), status=400)


_DRF_CODES: dict[type[drf.APIException], tuple[str, str | None]] = {
    drf.ParseError: ("malformed_json", "The request body is not valid JSON."),
    drf.UnsupportedMediaType: ("unsupported_media_type", None),
    drf.MethodNotAllowed: ("method_not_allowed", None),
    drf.NotAcceptable: ("not_acceptable", None),
    drf.Throttled: ("rate_limited", None),
    drf.NotFound: ("not_found", None),
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every API error leaves in API.md's shape."""
    if isinstance(exc, FastnError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
        for name, value in exc.headers.items():
            response[name] = value
        return response
    if isinstance(exc, drf.ValidationError):
        return validation_error_response(exc.detail)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
        return validation_error_response(detail)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("payload_too_large", "The request body is larger than this server accepts."), status=413
        )
    if isinstance(exc, Http404):
        return Response(error_body("not_found", "Not found."), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body("permission_denied", PermissionDenied.default_message), status=403)
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "not_authenticated"
        message = str(exc.detail)
        if isinstance(exc, drf.NotAuthenticated):
            code, message = "not_authenticated", NOT_AUTHENTICATED_MESSAGE
        elif code == "authentication_failed":
            code = "not_authenticated"
        response = Response(error_body(code, message), status=401)
        response["WWW-Authenticate"] = 'ApiKey realm="fastn", header="x-fastn-access-key"'
        return response
    if isinstance(exc, drf.PermissionDenied):
        return Response(error_body("permission_denied", str(exc.detail)), status=403)
    if isinstance(exc, drf.APIException):
        code, message = _DRF_CODES.get(type(exc), (None, None))
        if code is None:
            raw = exc.get_codes()
            code = raw if isinstance(raw, str) else "error"
        response = Response(error_body(code, message or str(exc.detail)), status=exc.status_code)
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            response["Retry-After"] = str(int(exc.wait) + 1)
        return response
    return None
