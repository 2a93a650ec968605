"""Error pages of the whole site: JSON under /api/, HTML elsewhere.

The dashboard's pages live in the apps that own them (apps.home for Home and
the section landings, apps.activity for Activity); core has none.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

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
