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
        from apps.widgets.services.sessions import TOKEN_PREFIX

        if token.startswith(TOKEN_PREFIX) or token.count(".") != 2:
            session = self._opaque_session(token)
            customer = self._enter(request, session.organization, pk=session.customer_id)
        else:
            session, external_id = self._jwt_session(token)
            customer = self._enter(request, session.organization, external_id=external_id)
            session.customer_id = customer.pk
            self._check_cutoff(session, customer)
        django_request = request._request
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
        if not getattr(session, "from_jwt", False):
            from apps.widgets.services.sessions import customer_session_touch

            customer_session_touch(session=session)
        return Principal(
            session.organization,
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

    @staticmethod
    def _opaque_session(token: str) -> CustomerSession:
        session = selectors.customer_session_for_token(raw_token=token)
        if session is None:
            raise _failed("This session token is not valid.", "invalid_session")
        if session.revoked_at is not None:
            raise _failed("This session was revoked: ask your application for a new one.", "session_revoked")
        if session.expires_at <= timezone.now():
            raise _failed("This session has expired: ask your application for a new one.", "session_expired")
        return session

    @staticmethod
    def _jwt_session(token: str) -> tuple[CustomerSession, str]:
        """A customer JWT signed by the organization (services/signing_keys.py),
        as an unsaved CustomerSession, and the customer's external id."""
        import datetime as dt

        import jwt
        from django.conf import settings

        from apps.core.errors import InvalidInput
        from apps.widgets.origins import origin_normalise
        from apps.widgets.shared.models import EmbedSigningKey

        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            kid = None
        key = (
            EmbedSigningKey.objects.select_related("organization__plan").filter(kid=kid).first()
            if isinstance(kid, str) and kid
            else None
        )
        if key is None:
            raise _failed("This session token is not valid.", "invalid_session")
        if key.revoked_at is not None:
            raise _failed("The key that signed this token was revoked.", "session_revoked")
        organization = key.organization
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=["RS256"],
                audience=str(organization.account_id),
                options={"require": ["exp", "iat", "sub", "aud"]},
                leeway=settings.FASTN_EMBED_JWT_LEEWAY_SECONDS,
            )
        except jwt.ExpiredSignatureError:
            raise _failed("This session has expired: ask your application for a new one.", "session_expired") from None
        except jwt.PyJWTError as exc:
            raise _failed(f"The session token was refused: {exc}.", "invalid_session") from None
        subject, issued, expires = claims.get("sub"), claims.get("iat"), claims.get("exp")
        if (
            not isinstance(subject, str)
            or not subject
            or not all(isinstance(t, int | float) for t in (issued, expires))
        ):
            raise _failed("The session token's sub, iat and exp must be a string and two times.", "invalid_session")
        if expires - issued > settings.FASTN_EMBED_SESSION_TTL_MAX:
            raise _failed(
                f"A session token may live at most {settings.FASTN_EMBED_SESSION_TTL_MAX} s (exp - iat).",
                "invalid_session",
            )
        integrations = claims.get("integrations")
        if integrations is not None and (
            not isinstance(integrations, list) or not all(isinstance(slug, str) for slug in integrations)
        ):
            raise _failed("The token's integrations must be a list of connector slugs.", "invalid_session")
        origin = ""
        if claims.get("allowed_origin") is not None:
            try:
                origin = origin_normalise(claims["allowed_origin"], field="allowed_origin")
            except InvalidInput:
                raise _failed("The token's allowed_origin is not an origin.", "invalid_session") from None
        session = CustomerSession(
            token_prefix=f"jwt:{key.kid}"[:20],
            organization=organization,
            customer_external_id=subject,
            integrations=integrations,
            allowed_origin=origin,
            expires_at=dt.datetime.fromtimestamp(expires, tz=dt.UTC),
        )
        session.from_jwt = True  # type: ignore[attr-defined]
        session.issued_at = dt.datetime.fromtimestamp(issued, tz=dt.UTC)  # type: ignore[attr-defined]
        return session, subject

    @staticmethod
    def _enter(request, organization, *, pk=None, external_id: str | None = None) -> Customer:
        """Switch to the organization's schema; its live customer, or 401."""
        if organization.is_template or organization.status != organization.Status.ACTIVE:
            raise _failed("This account is suspended.", "account_suspended")
        connection.set_tenant(organization)
        request._request.tenant = organization
        lookup = {"pk": pk} if pk is not None else {"external_id": external_id}
        customer = Customer.objects.filter(**lookup).first()
        if customer is None:
            raise _failed("The customer of this session does not exist.", "invalid_session")
        return customer

    @staticmethod
    def _check_cutoff(session: CustomerSession, customer: Customer) -> None:
        from apps.widgets.shared.models import CustomerSessionCutoff

        cutoff = (
            CustomerSessionCutoff.objects.filter(organization=session.organization, customer_id=customer.pk)
            .values_list("revoked_before", flat=True)
            .first()
        )
        if cutoff is not None and session.issued_at <= cutoff:  # type: ignore[attr-defined]
            raise _failed("This session was revoked: ask your application for a new one.", "session_revoked")
