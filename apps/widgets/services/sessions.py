"""Customer sessions: minted by the organization's backend (API key), used by
the widget and the JS clients as `Authorization: Bearer <token>` on
`/api/v1/embed/…`.

A token is `fastn_cs_` + 256 random bits; only its SHA-256 is stored, in
the public schema (apps.widgets.shared), next to the organization and the
customer it acts for. Every request reads the row again: expiry and
revocation take effect at once, in every process.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.accounts.principals import Principal
from apps.core.errors import InvalidInput
from apps.settings.models import Customer
from apps.settings.services import audit_record
from apps.widgets.origins import origin_normalise
from apps.widgets.shared.models import CustomerSession

TOKEN_PREFIX = "fastn_cs_"
TOKEN_BYTES = 32
VISIBLE_LENGTH = len(TOKEN_PREFIX) + 6
MAX_TOKEN_LENGTH = 128
MAX_INTEGRATIONS = 100
LAST_USED_RESOLUTION = timedelta(minutes=1)


def session_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _ttl(value: Any) -> int:
    low, high = settings.FASTN_EMBED_SESSION_TTL_MIN, settings.FASTN_EMBED_SESSION_TTL_MAX
    if value is None:
        return settings.FASTN_EMBED_SESSION_TTL_DEFAULT
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput.for_field("ttl_seconds", f"Must be an integer between {low} and {high}.")
    return value


def session_integrations_check(value: Any) -> list[str] | None:
    """The connector slugs a session is restricted to (each installed), or None."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(slug, str) for slug in value):
        raise InvalidInput.for_field("integrations", "Must be a list of connector slugs.")
    if len(value) > MAX_INTEGRATIONS:
        raise InvalidInput.for_field("integrations", f"May name at most {MAX_INTEGRATIONS} connectors.")
    from apps.connectors.selectors import connector_list

    known = set(connector_list().filter(slug__in=value).values_list("slug", flat=True))
    seen: list[str] = []
    for index, slug in enumerate(value):
        if slug not in known:
            raise InvalidInput.for_field(
                f"integrations[{index}]", f"No connector {slug!r} is installed.", code="connector_not_found"
            )
        if slug in seen:
            raise InvalidInput.for_field(f"integrations[{index}]", f"{slug!r} is listed twice.")
        seen.append(slug)
    return seen


def customer_session_create(
    *,
    actor: Principal,
    customer: Customer,
    ttl_seconds: int | None = None,
    integrations: Sequence[str] | None = None,
    allowed_origin: str | None = None,
) -> tuple[CustomerSession, str]:
    """Mint a session for `customer`. Returns (session, token): the token is
    shown this once."""
    ttl = _ttl(ttl_seconds)
    restricted = session_integrations_check(integrations)
    origin = origin_normalise(allowed_origin, field="allowed_origin") if allowed_origin is not None else ""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    session = CustomerSession.objects.create(
        token_hash=session_token_hash(raw),
        token_prefix=raw[:VISIBLE_LENGTH],
        organization=actor.organization,
        customer_id=customer.pk,
        customer_external_id=customer.external_id,
        integrations=restricted,
        allowed_origin=origin,
        expires_at=now + timedelta(seconds=ttl),
        created_by=actor.label[:255],
    )
    audit_record(
        actor=actor,
        action="customer_session.create",
        resource_type="customer_session",
        resource_id=str(session.id),
        changes={
            "customer": customer.external_id,
            "ttl_seconds": ttl,
            "integrations": restricted,
            "allowed_origin": origin or None,
            "prefix": session.token_prefix,
        },
    )
    return session, raw


def _live(organization, customer: Customer):
    return CustomerSession.objects.filter(
        organization=organization, customer_id=customer.pk, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def customer_sessions_revoke(*, actor: Principal, customer: Customer) -> int:
    """Revoke every live session of `customer` (one UPDATE), and every
    customer JWT issued until now. Returns how many sessions."""
    from apps.widgets.shared.models import CustomerSessionCutoff

    now = timezone.now()
    count = _live(actor.organization, customer).update(revoked_at=now)
    CustomerSessionCutoff.objects.update_or_create(
        organization=actor.organization, customer_id=customer.pk, defaults={"revoked_before": now}
    )
    audit_record(
        actor=actor,
        action="customer_session.revoke_all",
        resource_type="customer",
        resource_id=customer.external_id,
        changes={"revoked": count},
    )
    return count


def customer_session_revoke(*, actor: Principal, customer: Customer, session_id: Any) -> CustomerSession:
    from apps.widgets.selectors import customer_session_get

    session = customer_session_get(organization=actor.organization, customer=customer, session_id=session_id)
    if session.revoked_at is None:
        now = timezone.now()
        CustomerSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(revoked_at=now)
        session.revoked_at = now
        audit_record(
            actor=actor,
            action="customer_session.revoke",
            resource_type="customer_session",
            resource_id=str(session.id),
            changes={"customer": customer.external_id, "prefix": session.token_prefix},
        )
    return session


def customer_session_touch(*, session: CustomerSession) -> None:
    """Record use, at most once a minute (a conditional UPDATE: concurrent
    requests write it once)."""
    now = timezone.now()
    if session.last_used_at is not None and now - session.last_used_at <= LAST_USED_RESOLUTION:
        return
    stale = now - LAST_USED_RESOLUTION
    CustomerSession.objects.filter(pk=session.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)
    ).update(last_used_at=now)
    session.last_used_at = now


def customer_sessions_purge(*, now=None) -> int:
    """Delete sessions that ended (expired or revoked) longer ago than the retention."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.FASTN_EMBED_SESSION_RETENTION_DAYS)
    deleted, _ = CustomerSession.objects.filter(Q(expires_at__lt=before) | Q(revoked_at__lt=before)).delete()
    return deleted
