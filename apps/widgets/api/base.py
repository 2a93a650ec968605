"""The end-user API's base view: session authentication, origin check,
quota as the customer, and the whole call under the customer's
row-level-security scope."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from apps.accounts.principals import Principal
from apps.billing.permissions import DECISION_ATTRIBUTE
from apps.core.rls import customer_scope
from apps.widgets.authentication import CustomerSessionAuthentication, EmbedContext
from apps.widgets.exceptions import IntegrationNotAllowed, OriginNotAllowed


class EmbedOriginAllowed(BasePermission):
    """A browser call (an `Origin` header) must come from an origin the
    session allows: its `allowed_origin`, else the widget's
    `allowed_origins` (and Fastn's own, for the dashboard's preview).
    Server-side calls carry no Origin and are not restricted by it."""

    def has_permission(self, request, view) -> bool:
        context: EmbedContext | None = request.auth if isinstance(request.auth, EmbedContext) else None
        if context is None:
            return False
        if context.origin is None or context.origin in context.allowed_origins:
            return True
        shown = request.META.get("HTTP_ORIGIN", "")[:255]
        raise OriginNotAllowed(
            f"This session may not be used from {shown or 'an opaque origin'}: add the origin to the widget's "
            "allowed_origins, or mint the session with allowed_origin.",
            details={"origin": shown},
        )


class EmbedWithinQuota(BasePermission):
    """Every end-user call is one API call of the customer (and of the
    organization): a hard block answers 429 with Retry-After."""

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, Principal):
            return False
        django_request = request._request
        if hasattr(django_request, DECISION_ATTRIBUTE):
            return True
        from apps.billing.quotas import Meter
        from apps.billing.services import quota_consume

        decision = quota_consume(
            organization=principal.organization,
            meter=Meter.API_CALLS,
            customer_external_id=principal.extra["customer_external_id"],
        )
        setattr(django_request, DECISION_ATTRIBUTE, decision)
        return True


class EmbedAPIView(APIView):
    """A view of `/api/v1/embed/…`. `self.embed` is the request's
    EmbedContext, `self.principal` the customer acting."""

    authentication_classes = [CustomerSessionAuthentication]
    permission_classes = [EmbedOriginAllowed, EmbedWithinQuota]
    # CustomerScopeMiddleware is for the customer header; this view scopes itself.
    customer_scoped = False
    _scope: Any = None

    @property
    def embed(self) -> EmbedContext:
        return self.request.auth

    @property
    def principal(self) -> Principal:
        return self.request.user

    def require_connector(self, slug: str) -> None:
        if slug not in self.embed.connector_slugs:
            raise IntegrationNotAllowed(
                f"The integration {slug!r} is not offered to this session.", details={"connector": slug}
            )

    # The handler runs in one transaction scoped to the customer (RLS): even
    # a query that forgot its customer filter sees no other customer's rows.
    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        scope = customer_scope(self.embed.customer.pk)
        scope.__enter__()
        self._scope = scope

    def _leave_scope(self, exc: BaseException | None) -> None:
        scope, self._scope = self._scope, None
        if scope is None:
            return
        if exc is None:
            scope.__exit__(None, None, None)
        else:
            scope.__exit__(type(exc), exc, exc.__traceback__)

    def handle_exception(self, exc):
        self._leave_scope(exc)
        response = super().handle_exception(exc)
        if response.status_code == 401:
            response["WWW-Authenticate"] = 'Bearer realm="fastn-embed"'
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        self._leave_scope(None)
        return super().finalize_response(request, response, *args, **kwargs)
