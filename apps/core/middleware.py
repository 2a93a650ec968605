"""Request middleware: tenant selection and the request-size limit."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse

from apps.core import logcontext
from apps.core.errors import error_response
from apps.core.tenancy import tenant_for_request

API_PREFIXES = ("/api/", "/hooks/")
logger = logging.getLogger(__name__)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


class TenantMiddleware:
    """Put the connection in the request's organization schema, or in public.

    It runs first. It always starts from the public schema, because a worker
    thread's connection may still point at the previous request's schema, and
    it goes back to public when the response is done.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        connection.set_schema_to_public()
        # Log lines of this request carry its id (X-Request-ID, or a new one) and organization.
        request_id = logcontext.request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        tokens = logcontext.bind(request_id=request_id, organization=None, customer=None, execution_id=None)
        try:
            resolution = tenant_for_request(request.path_info, request.META)
            request.tenant = resolution.organization  # type: ignore[attr-defined]
            request.tenant_problem = resolution.problem  # type: ignore[attr-defined]
            if resolution.organization is not None:
                connection.set_tenant(resolution.organization)
                logcontext.bind(organization=resolution.organization.slug)
                customer = request.META.get("HTTP_X_FASTN_ACCOUNT_TENANT_ID")
                if customer:
                    logcontext.bind(customer=customer[:255])
            response = self.get_response(request)
            response.headers.setdefault("X-Request-ID", request_id)
            return response
        finally:
            logcontext.unbind(tokens)
            connection.set_schema_to_public()


class RequestSizeLimitMiddleware:
    """Refuse bodies over FASTN_MAX_BODY_BYTES before anything reads them (413).

    Django's WSGI handler never reads past Content-Length (a body without one
    reads as empty), and DATA_UPLOAD_MAX_MEMORY_SIZE is the same limit, so a
    body that slips past this check still raises RequestDataTooBig when read,
    which the API's exception handler turns into the same 413.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.FASTN_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            if is_api_path(request.path_info):
                return error_response(
                    413,
                    "payload_too_large",
                    f"The request body is {length} bytes; the limit is {limit} bytes.",
                    {"limit_bytes": limit, "received_bytes": length},
                )
            return HttpResponse("Request body too large.", status=413, content_type="text/plain")
        return self.get_response(request)


class ApiExceptionMiddleware:
    """An unexpected exception under /api/ or /hooks/ still answers JSON (500),
    in DEBUG too; the traceback goes to the log, never to the client."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path_info):
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path_info)
        return error_response(500, "internal_error", "Something went wrong on our side. It has been logged.")
