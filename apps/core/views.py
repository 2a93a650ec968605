"""Error pages of the whole site: JSON under /api/, HTML elsewhere.

The dashboard's pages live in the apps that own them (apps.home for Home and
the section landings, apps.activity for Activity); core has none.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.core import metrics
from apps.core.errors import error_body
from apps.core.middleware import is_api_path


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse(error_body("not_found", "Not found.", {"path": request.path}), status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse(
            error_body("internal_error", "Something went wrong on our side. It has been logged."), status=500
        )
    return render(request, "500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse(
            error_body(
                "csrf_failed",
                "This call carries a session cookie but no valid CSRF token. Send x-fastn-access-key "
                "instead, or the X-CSRFToken header.",
            ),
            status=403,
        )
    return render(request, "403_csrf.html", {"reason": reason}, status=403)


def _client_allowed(request: HttpRequest) -> bool:
    address = request.META.get("REMOTE_ADDR", "")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network, strict=False) for network in settings.FASTN_METRICS_ALLOWED_NETWORKS)


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics: the Prometheus text format (apps.core.metrics).

    With FASTN_METRICS_TOKEN set, `Authorization: Bearer <token>` is required
    (401 otherwise, whatever the network). Without it, only clients in
    FASTN_METRICS_ALLOWED_NETWORKS are answered (under `make run`: loopback);
    everyone else gets 403 — metrics name connectors and volumes.
    """
    token = settings.FASTN_METRICS_TOKEN
    if token:
        scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            response = JsonResponse(
                error_body("not_authenticated", "Send Authorization: Bearer <FASTN_METRICS_TOKEN>."), status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not _client_allowed(request):
        return JsonResponse(
            error_body(
                "forbidden",
                "Metrics are not open to this address: set FASTN_METRICS_TOKEN, or add the scraper's network "
                "to FASTN_METRICS_ALLOWED_NETWORKS.",
            ),
            status=403,
        )
    return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE)
