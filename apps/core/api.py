"""Base classes and helpers for the API (`/api/v1/`).

Tenant views derive from `TenantAPIView`: it requires an authenticated
principal of the request's organization and checks the view's
`permission_resource` through the one permission layer. Views stay thin: parse
with a small input serializer, call a service or selector, render.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.customers import customer_get
from apps.core.errors import InvalidInput, error_body
from apps.core.health import health_report

CUSTOMER_HEADER = "HTTP_X_FASTN_ACCOUNT_TENANT_ID"


class TenantAPIView(APIView):
    """An API view inside one organization.

    Subclasses set `permission_resource` (see apps.accounts.roles.Resource) and
    optionally `permission_action` / `permission_actions`.
    """

    permission_resource: str | None = None

    @property
    def principal(self):
        return self.request.user

    def customer_external_id(self, request: Request) -> str | None:
        value = request.META.get(CUSTOMER_HEADER)
        return value.strip() if value and value.strip() else None

    def customer(self, request: Request, *, required: bool = True):
        """The customer named by `x-fastn-account-tenant-id`, or None when optional."""
        external_id = self.customer_external_id(request)
        if external_id is None:
            if required:
                raise InvalidInput(
                    "This call is customer-scoped: send the customer's external_id in x-fastn-account-tenant-id.",
                    code="customer_required",
                    details={"header": "x-fastn-account-tenant-id"},
                )
            return None
        return customer_get(external_id=external_id)


def validated(serializer_class, data: Any, **kwargs) -> dict[str, Any]:
    """Validate a request body with an input serializer; errors become 400s."""
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.", code="invalid_body")
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@csrf_exempt
def time_param(name: str, raw: str | None):
    """An ISO 8601 date-time query parameter, or None when absent (400 naming it when malformed)."""
    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None:
        raise InvalidInput.for_field(name, "Use an ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z.")
    return value


def choice_param(params, name: str, choices, *, message: str | None = None) -> str:
    """A query parameter that must be one of `choices`, or "" when absent
    (400 naming it otherwise)."""
    value = params.get(name, "")
    if value and value not in choices:
        raise InvalidInput.for_field(name, message or f"Must be one of {', '.join(choices)}.")
    return value


def unknown_api_route(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Catch-all for `/api/...` paths no route matches: a JSON 404, even in DEBUG."""
    return JsonResponse(
        error_body("not_found", f"There is no API endpoint at {request.path}.", {"path": request.path}),
        status=404,
    )


class HealthView(APIView):
    """`GET /api/v1/health`: 200 when every check passes, else 503 naming them."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(auth=[], summary="Health of the database, Redis and workers")
    def get(self, request):
        ok, checks = health_report()
        body = {
            "status": "ok" if ok else "unavailable",
            "checks": {name: ("ok" if check.ok else "error") for name, check in checks.items()},
            "details": {name: check.detail for name, check in checks.items()},
        }
        if ok:
            return Response(body)
        failing = [name for name, check in checks.items() if not check.ok]
        body.update(
            error_body(
                "dependency_unavailable",
                f"Unhealthy: {', '.join(failing)}.",
                {"failing": failing},
            )
        )
        return Response(body, status=503)
