"""Authentication of the end-user API: `Authorization: Bearer <customer session token>`.

The token is the only credential and the only way the organization is
named: `/api/v1/embed/…` carries no account header. One indexed lookup in
the public schema (apps.widgets.shared) finds the session, its organization
and its customer; the connection then switches to that organization's
schema. Nothing is cached, so an expired or revoked session answers 401 on
its very next request. Organization API keys and dashboard sessions are not
accepted here, and a session token is accepted nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from apps.accounts.principals import Principal
from apps.accounts.roles import SystemRole, role_permissions
from apps.settings.models import Customer
from apps.widgets import selectors
from apps.widgets.models import WidgetConfig
from apps.widgets.origins import origin_of_header, own_origins
from apps.widgets.shared.models import CustomerSession

SESSION_REQUIRED = "Send the customer session token as Authorization: Bearer <token>."


@dataclass
class EmbedContext:
    """What one end-user request may see: its session, customer and widget."""

    session: CustomerSession
    customer: Customer
    widget: WidgetConfig
    # The request's Origin header: None when absent; "" when opaque or malformed.
    origin: str | None
    allowed_origins: frozenset[str]
    integrations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def connector_slugs(self) -> list[str]:
        return [slug for slug, _ in self.integrations]

    def label_of(self, slug: str) -> str:
        return dict(self.integrations).get(slug, "")


def _failed(message: str, code: str) -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message, code)


class CustomerSessionAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _failed(SESSION_REQUIRED, "session_required")
        session = selectors.customer_session_for_token(raw_token=token)
        if session is None:
            raise _failed("This session token is not valid.", "invalid_session")
        if session.revoked_at is not None:
            raise _failed("This session was revoked: ask your application for a new one.", "session_revoked")
        if session.expires_at <= timezone.now():
            raise _failed("This session has expired: ask your application for a new one.", "session_expired")
        organization = session.organization
        if organization.is_template or organization.status != organization.Status.ACTIVE:
            raise _failed("This account is suspended.", "account_suspended")
        django_request = request._request
        connection.set_tenant(organization)
        django_request.tenant = organization
        customer = Customer.objects.filter(pk=session.customer_id).first()
        if customer is None:
            raise _failed("The customer of this session no longer exists.", "invalid_session")
        widget = selectors.widget_config()
        allowed = {session.allowed_origin} if session.allowed_origin else set(widget.allowed_origins or [])
        allowed |= own_origins(django_request)
        raw_origin = request.META.get("HTTP_ORIGIN")
        origin = None if raw_origin is None else (origin_of_header(raw_origin) or "")
        context = EmbedContext(
            session=session,
            customer=customer,
            widget=widget,
            origin=origin,
            allowed_origins=frozenset(allowed),
            integrations=selectors.embed_integrations(widget=widget, session=session),
        )
        # CORS (apps.widgets.signals) answers from this session's origins.
        django_request.embed_allowed_origins = context.allowed_origins
        from apps.widgets.services.sessions import customer_session_touch

        customer_session_touch(session=session)
        return Principal(
            organization,
            SystemRole.END_USER,
            role_permissions(SystemRole.END_USER),
            "customer",
            ip=request.META.get("REMOTE_ADDR") or None,
            extra={
                "actor_id": f"customer:{customer.external_id}"[:64],
                "label": f"Customer {customer.external_id} (embed session {session.token_prefix}…)",
                "customer_external_id": customer.external_id,
            },
        ), context

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="fastn-embed"'
