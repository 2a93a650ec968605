"""Quota headers on API responses.

The permission layer leaves its decision on the request; this adds what it
says to the response: `X-Fastn-Quota-Soft` / `X-Fastn-Quota-Notify` naming
exceeded Soft / Notify limits, and `X-RateLimit-*` for the tightest limit.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.billing.permissions import DECISION_ATTRIBUTE


class QuotaHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        decision = getattr(request, DECISION_ATTRIBUTE, None)
        if decision is not None:
            for name, value in decision.headers().items():
                response[name] = value
        return response
