"""Quotas: consuming meters, customer tiers and limits, rollups and notices.

The service other apps call is `quota_consume` (and `quota_release` /
`quota_levels_set` for levels). Every producer of metered work calls it
before doing the work:

- API calls: the API's permission layer (`apps.billing.permissions`), once
  per authenticated request — nothing else needs to;
- trigger events: `quota_consume(organization=org, meter=Meter.EVENTS,
  customer_external_id=...)` once per accepted event;
- executions: `meter=Meter.EXECUTIONS` once per execution started (not per
  retry attempt); one execution is also one credit of the plan's monthly
  credits;
- connections: `meter=Meter.CONNECTIONS` when a connection is created, and
  `quota_release(...)` when it is deleted (or when its creation failed);
- storage: `meter=Meter.STORAGE_BYTES, amount=<bytes added>` and
  `quota_release(..., amount=<bytes freed>)`; `quota_levels_set` overwrites
  the levels with a measurement (fastn.db / state reconciliation).

A Hard Block raises `QuotaExceeded` (429 through the API; producers refuse
the work, and must not retry before `retry_after`). Soft and Notify limits
let the work through; the returned `QuotaDecision` says which limits are
exceeded. Organization limits (the plan) and customer limits (tier, then the
customer's own) both apply; a customer that does not exist is counted at the
organization only.

When Redis is unreachable, `FASTN_QUOTA_FAIL_MODE` decides: "open" (default)
lets the work through uncounted, logs it and writes one audit event per
organization and minute; "closed" raises `QuotaUnavailable` (503).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.billing import counters
from apps.billing import limits as limits_cache
from apps.billing.exceptions import QuotaExceeded, QuotaUnavailable, TierExists, TierInUse, TierNotFound
from apps.billing.models import validate_enforcements, validate_limits
from apps.billing.quotas import (
    DIMENSION_ORDER,
    DIMENSION_PERIODS,
    DIMENSIONS,
    HARD_BLOCK,
    LEVEL_METERS,
    METER_DIMENSIONS,
    METER_VALUES,
    WINDOWED_METERS,
    Dimension,
    Enforcement,
    Period,
    Window,
    day_window,
    day_window_for_date,
    local_date,
    minute_window,
    window_for,
)
from apps.core import metrics
from apps.core.errors import InvalidInput
from apps.core.tenancy import organization_context

logger = logging.getLogger(__name__)

SCOPE_ORGANIZATION = "organization"
SCOPE_CUSTOMER = "customer"
TIER_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SOFT_HEADER = "X-Fastn-Quota-Soft"
NOTIFY_HEADER = "X-Fastn-Quota-Notify"
UNCOUNTED_HEADER = "X-Fastn-Quota"
MAX_EXTERNAL_ID = 255  # settings.Customer.external_id


# --- Decisions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaUsage:
    """One limit the work was checked against, and the counter after it."""

    dimension: str
    scope: str  # "organization" or "customer"
    customer: str | None
    limit: int | None
    used: int
    enforcement: str
    window: Window

    @property
    def exceeded(self) -> bool:
        return self.limit is not None and self.used > self.limit

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


@dataclass(frozen=True)
class QuotaDecision:
    """The outcome of an admitted `quota_consume`.

    `counted` is False when Redis was unreachable and the fail mode let the
    work through uncounted.
    """

    meter: str
    amount: int
    usages: tuple[QuotaUsage, ...] = ()
    counted: bool = True
    checked_at: float = field(default_factory=time.time)

    def exceeded(self, enforcement: str) -> tuple[str, ...]:
        seen: list[str] = []
        for usage in self.usages:
            if usage.exceeded and usage.enforcement == enforcement and usage.dimension not in seen:
                seen.append(usage.dimension)
        return tuple(seen)

    @property
    def soft_exceeded(self) -> tuple[str, ...]:
        return self.exceeded(Enforcement.SOFT)

    @property
    def notify_exceeded(self) -> tuple[str, ...]:
        return self.exceeded(Enforcement.NOTIFY)

    def headers(self) -> dict[str, str]:
        """Response headers: exceeded Soft/Notify limits and the tightest limit left."""
        headers: dict[str, str] = {}
        if not self.counted:
            headers[UNCOUNTED_HEADER] = "uncounted"
            return headers
        if soft := self.soft_exceeded:
            headers[SOFT_HEADER] = ", ".join(soft)
        if notify := self.notify_exceeded:
            headers[NOTIFY_HEADER] = ", ".join(notify)
        limited = [u for u in self.usages if u.limit is not None and u.window.end is not None]
        if limited:
            tightest = min(limited, key=lambda u: (u.remaining, -(u.window.end or 0)))
            headers["X-RateLimit-Limit"] = str(tightest.limit)
            headers["X-RateLimit-Remaining"] = str(tightest.remaining)
            headers["X-RateLimit-Reset"] = str(tightest.window.seconds_left(self.checked_at))
            headers["X-RateLimit-Dimension"] = tightest.dimension
        return headers


# --- Consuming -----------------------------------------------------------------------


def _ttl(window: Window, now: float) -> int:
    if window.end is None:
        return 0
    keep = counters.MINUTE_KEEP_SECONDS if window.period == Period.MINUTE else counters.DAY_KEEP_SECONDS
    return max(1, int(window.end - now)) + keep


def quota_consume(
    *,
    organization,
    meter: str,
    customer_external_id: str | None = None,
    amount: int = 1,
    now: float | None = None,
) -> QuotaDecision:
    """Check and count `amount` of `meter` for the organization and its customer, atomically.

    Raises QuotaExceeded when a Hard Block limit (of the organization or of
    the customer) would be exceeded; nothing is counted then. Raises
    QuotaUnavailable when Redis is away and the fail mode is "closed".
    Returns the decision otherwise. One Redis round trip; no query while the
    customer's limits are cached.
    """
    if meter not in METER_VALUES:
        raise ValueError(f"Unknown meter {meter!r}.")
    if amount < 0 or (amount == 0 and meter in WINDOWED_METERS):
        raise ValueError("Consume a positive amount; use quota_release to give some back.")
    now = time.time() if now is None else now
    return _count(organization, meter, _customer_limits(organization, customer_external_id), amount, now)


def quota_release(*, organization, meter: str, customer_external_id: str | None = None, amount: int = 1) -> None:
    """Give back `amount` of a level (a connection deleted, bytes freed). Never blocks; never below zero.

    When Redis is away the release is lost and the next `quota_levels_set`
    reconciliation corrects the level; it is logged.
    """
    if meter not in LEVEL_METERS:
        raise ValueError(f"Only levels ({', '.join(sorted(LEVEL_METERS))}) can be released.")
    if amount <= 0:
        raise ValueError("Release a positive amount.")
    _count(
        organization, meter, _customer_limits(organization, customer_external_id), -amount, time.time(), fail_open=True
    )


def quota_levels_set(*, organization, meter: str, organization_value: int, customers: dict[str, int]) -> None:
    """Overwrite a level with a measurement: the organization's total and each customer's."""
    if meter not in LEVEL_METERS:
        raise ValueError(f"Only levels ({', '.join(sorted(LEVEL_METERS))}) can be set.")
    values = {counters.ORG_FIELD: organization_value}
    values.update({counters.customer_field(ext): value for ext, value in customers.items()})
    counters.set_levels(organization.pk, meter, values)


def _customer_limits(organization, external_id: str | None):
    """The customer's limits, or None: no customer named, no such customer, or an
    id no customer can have (longer than an external_id may be: not looked up)."""
    if not external_id or len(external_id) > MAX_EXTERNAL_ID:
        return None
    return limits_cache.cached_customer_limits(organization, external_id)


def _checks_for(organization, meter: str, customer, now: float):
    """The counters a unit of `meter` touches: the organization's, and the customer's when known."""
    tz_name = organization.timezone
    plan = organization.plan
    key_prefix = counters.organization_key_prefix(organization.pk) + meter + ":"
    customer_field = counters.customer_field(customer.external_id) if customer is not None else None
    planned: list[tuple[str, str, str | None, int | None, str, Window]] = []
    checks: list[counters.Check] = []
    for dimension in METER_DIMENSIONS[meter]:
        window = window_for(DIMENSION_PERIODS[dimension], now, tz_name)
        hash_key = key_prefix + window.token
        ttl = _ttl(window, now)
        limit, mode = plan.limits.get(dimension), plan.enforcement_for(dimension)
        planned.append((dimension, SCOPE_ORGANIZATION, None, limit, mode, window))
        checks.append(counters.Check(hash_key, counters.ORG_FIELD, limit, mode == HARD_BLOCK, ttl))
        if customer is not None:
            limit, mode = customer.get(dimension)
            planned.append((dimension, SCOPE_CUSTOMER, customer.external_id, limit, mode, window))
            checks.append(counters.Check(hash_key, customer_field, limit, mode == HARD_BLOCK, ttl))
    return planned, checks


def _count(organization, meter: str, customer, amount: int, now: float, *, fail_open: bool = False) -> QuotaDecision:
    planned, checks = _checks_for(organization, meter, customer, now)
    url = counters.redis_url()
    if _breaker_open(url):
        return _counters_unavailable(organization, meter, None, now, fail_open=fail_open)
    try:
        result = counters.consume(checks, amount, counters.version_key(organization.pk))
    except (redis.RedisError, OSError) as exc:
        _breaker_trip(url)
        return _counters_unavailable(organization, meter, exc, now, fail_open=fail_open)
    _breaker_reset(url)
    limits_cache.observe_version(organization, result.version)
    usages = tuple(
        QuotaUsage(dimension, scope, ext, limit, used, mode, window)
        for (dimension, scope, ext, limit, mode, window), used in zip(planned, result.values, strict=True)
    )
    if not result.admitted:
        exceeded = _exceeded(usages, amount, now)
        metrics.quota_rejected(dimension=str(exceeded.details.get("dimension", "")))
        raise exceeded
    decision = QuotaDecision(meter=meter, amount=amount, usages=usages, checked_at=now)
    crossed = [
        u for u in usages if u.limit is not None and u.enforcement != HARD_BLOCK and u.used - amount <= u.limit < u.used
    ]
    if crossed:
        _limits_reached(organization, crossed, now)
    return decision


def _exceeded(usages: tuple[QuotaUsage, ...], amount: int, now: float) -> QuotaExceeded:
    blocking = [
        u
        for u in usages
        if u.enforcement == Enforcement.HARD_BLOCK and u.limit is not None and u.used + amount > u.limit
    ]
    # The limit that stays blocking longest decides when a retry can succeed.
    worst = max(blocking, key=lambda u: (u.window.end or float("inf"), u.scope == SCOPE_ORGANIZATION))
    retry_after = worst.window.seconds_left(now) or None
    label = Dimension(worst.dimension).label
    who = "This account" if worst.scope == SCOPE_ORGANIZATION else f"Customer {worst.customer!r}"
    message = f"{who} reached its limit of {worst.limit} {phrase(label)} ({worst.used} used)."
    if retry_after:
        message += f" Retry in {retry_after} seconds."
    end = worst.window.end_datetime
    return QuotaExceeded(
        message,
        dimension=worst.dimension,
        limit=worst.limit or 0,
        used=worst.used,
        retry_after=retry_after,
        scope=worst.scope,
        customer=worst.customer,
        resets_at=end.isoformat().replace("+00:00", "Z") if end else None,
    )


def phrase(label: str) -> str:
    """A dimension's label inside a sentence: "Events per day" → "events per day", "API calls" stays."""
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label


# --- Redis away ------------------------------------------------------------------------

_breaker: dict[str, float] = {}
_outage_seen: dict[tuple[str, str], bool] = {}
_outage_lock = threading.Lock()


def _breaker_open(url: str) -> bool:
    until = _breaker.get(url)
    return until is not None and time.monotonic() < until


def _breaker_trip(url: str) -> None:
    # For a few seconds, requests skip Redis instead of each waiting for it.
    _breaker[url] = time.monotonic() + settings.FASTN_QUOTA_REDIS_RETRY_SECONDS


def _breaker_reset(url: str) -> None:
    if _breaker:
        _breaker.pop(url, None)


def reset_state() -> None:
    """Forget the circuit breaker and outage memory (tests)."""
    _breaker.clear()
    _outage_seen.clear()


def _counters_unavailable(organization, meter: str, exc: Exception | None, now: float, *, fail_open: bool):
    mode = "open" if fail_open else settings.FASTN_QUOTA_FAIL_MODE
    window = minute_window(now)
    seen_key = (organization.schema_name, window.token)
    first_here = False
    if seen_key not in _outage_seen:
        with _outage_lock:
            if seen_key not in _outage_seen:
                if len(_outage_seen) > 10_000:
                    _outage_seen.clear()
                _outage_seen[seen_key] = True
                first_here = True
    if first_here:
        # Once per organization and minute in this process; the notice's
        # unique key makes it once per minute across processes.
        reason = f"{type(exc).__name__}: {exc}" if exc is not None else "circuit open after a recent failure"
        logger.warning("Quota counters unavailable for %s (%s); failing %s. %s", organization.slug, meter, mode, reason)
        _record_outage(organization, meter, mode, reason, window)
    if mode == "closed":
        raise QuotaUnavailable(headers={"Retry-After": str(max(1, int(settings.FASTN_QUOTA_REDIS_RETRY_SECONDS)))})
    return QuotaDecision(meter=meter, amount=0, usages=(), counted=False, checked_at=now)


def _record_outage(organization, meter: str, mode: str, reason: str, window: Window) -> None:
    from apps.metering.models import QuotaNotice
    from apps.settings.models import AuditEvent
    from apps.settings.services import audit_record

    with organization_context(organization):
        try:
            with transaction.atomic():
                QuotaNotice.objects.create(
                    kind=QuotaNotice.Kind.COUNTERS_UNAVAILABLE,
                    window_start=window.start_datetime,
                    detail=reason[:500],
                )
                audit_record(
                    actor=None,
                    action="quota.counters_unavailable",
                    resource_type="billing",
                    resource_id=meter,
                    outcome=AuditEvent.Outcome.ERROR,
                    changes={
                        "fail_mode": mode,
                        "reason": reason[:300],
                        "window_start": window.start_datetime.isoformat(),
                    },
                )
        except IntegrityError:
            pass  # another process recorded this minute's outage


# --- Notices -----------------------------------------------------------------------------


def _limits_reached(organization, crossed: list[QuotaUsage], now: float) -> None:
    """Record that a Soft or Notify limit was passed; Notify ones are emailed, once per window."""
    from apps.metering.models import QuotaNotice

    with organization_context(organization):
        for usage in crossed:
            window = usage.window if usage.window.end is not None else day_window(now, organization.timezone)
            notice, created = QuotaNotice.objects.get_or_create(
                kind=QuotaNotice.Kind.LIMIT_REACHED,
                dimension=usage.dimension,
                customer_external_id=usage.customer or "",
                window_start=window.start_datetime,
                defaults={"enforcement": usage.enforcement, "limit": usage.limit, "used": usage.used},
            )
            if created and usage.enforcement == Enforcement.NOTIFY:
                transaction.on_commit(lambda notice_id=notice.id: _queue_notice_email(organization, notice_id))


def _queue_notice_email(organization, notice_id) -> None:
    from apps.billing.tasks import send_quota_notice

    try:
        with organization_context(organization):
            send_quota_notice.delay(str(notice_id))
    except Exception:  # noqa: BLE001 - the broker is away: the rollup's sweep sends it later
        logger.warning("Could not queue quota notice %s; the next rollup sends it.", notice_id, exc_info=True)


def notice_recipients(organization) -> list[str]:
    """Emails of the organization's active Owners and Admins."""
    from apps.accounts.models import Membership
    from apps.accounts.roles import SystemRole

    return sorted(
        Membership.objects.filter(
            organization=organization,
            status=Membership.Status.ACTIVE,
            role__in=[SystemRole.OWNER, SystemRole.ADMIN],
            user__is_active=True,
        ).values_list("user__email", flat=True)
    )


def quota_notice_send(*, organization, notice_id: str) -> bool:
    """Email a Notify notice to Owners and Admins, once. Returns whether this call sent it.

    The row is claimed with a conditional update first, so two workers never
    both send; a failed send releases the claim for a retry.
    """
    from apps.metering.models import QuotaNotice

    claimed = QuotaNotice.objects.filter(id=notice_id, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if not claimed:
        return False
    notice = QuotaNotice.objects.get(id=notice_id)
    recipients = notice_recipients(organization)
    if not recipients:
        QuotaNotice.objects.filter(id=notice_id).update(recipients=[])
        return False
    label = Dimension(notice.dimension).label if notice.dimension in Dimension.values else notice.dimension
    context = {
        "organization": organization,
        "notice": notice,
        "label": label,
        "who": f"customer {notice.customer_external_id}" if notice.customer_external_id else organization.name,
        "billing_url": f"{settings.FASTN_PUBLIC_URL.rstrip('/')}/o/{organization.slug}/settings/billing/",
    }
    subject = f"[Fastn] {context['who']} passed the {phrase(label)} limit ({notice.limit})"
    body = render_to_string("billing/email/quota_notice.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        QuotaNotice.objects.filter(id=notice_id).update(emailed_at=None)
        raise
    QuotaNotice.objects.filter(id=notice_id).update(recipients=recipients)
    return True


def quota_notices_unsent() -> list[str]:
    """Notify notices of this schema not emailed within two minutes (their task was lost)."""
    from apps.metering.models import QuotaNotice

    cutoff = timezone.now() - dt.timedelta(minutes=2)
    return [
        str(pk)
        for pk in QuotaNotice.objects.filter(
            kind=QuotaNotice.Kind.LIMIT_REACHED,
            enforcement=Enforcement.NOTIFY,
            emailed_at__isnull=True,
            created_at__lt=cutoff,
            created_at__gte=timezone.now() - dt.timedelta(days=1),
        ).values_list("id", flat=True)[:100]
    ]


# --- Customer tiers and customer limits ----------------------------------------------------


def _clean_limits(limits: Any, enforcements: Any, *, prefix: str = "") -> tuple[dict, dict]:
    try:
        validate_limits(limits)
    except ValidationError as exc:
        raise InvalidInput.for_field(f"{prefix}limits", exc.messages[0]) from exc
    try:
        validate_enforcements(enforcements)
    except ValidationError as exc:
        raise InvalidInput.for_field(f"{prefix}enforcement", exc.messages[0]) from exc
    orphans = sorted(set(enforcements) - set(limits))
    if orphans:
        raise InvalidInput.for_field(
            f"{prefix}enforcement", f"{orphans[0]}: give a limit for a dimension before choosing its mode."
        )
    order = {d: i for i, d in enumerate(DIMENSION_ORDER)}
    return (
        dict(sorted(limits.items(), key=lambda kv: order[kv[0]])),
        dict(sorted(enforcements.items(), key=lambda kv: order[kv[0]])),
    )


def _limits_changed(organization, external_id: str | None = None) -> None:
    """Drop cached limits here now, and everywhere once the change is committed."""
    limits_cache.forget(organization, external_id)

    def bump() -> None:
        limits_cache.forget(organization, external_id)
        try:
            counters.bump_version(organization.pk)
        except (redis.RedisError, OSError):
            logger.warning(
                "Could not announce new limits of %s; other processes pick them up within %s s.",
                organization.slug,
                settings.FASTN_QUOTA_LIMITS_CACHE_SECONDS,
            )

    transaction.on_commit(bump)


def customer_tier_create(*, actor, slug: str, name: str, description: str = "", limits: dict, enforcement: dict) -> Any:
    from apps.metering.models import CustomerTier
    from apps.settings.services import audit_record

    if not TIER_SLUG_RE.match(slug or ""):
        raise InvalidInput.for_field("slug", "Use 1–64 lowercase letters, digits, '-' or '_'.")
    limits, enforcement = _clean_limits(limits, enforcement)
    try:
        with transaction.atomic():
            tier = CustomerTier.objects.create(
                slug=slug, name=name, description=description, limits=limits, enforcements=enforcement
            )
    except IntegrityError as exc:
        raise TierExists(f"A customer tier {slug!r} already exists.", details={"slug": slug}) from exc
    audit_record(
        actor=actor,
        action="customer_tier.create",
        resource_type="customer_tier",
        resource_id=slug,
        changes={"name": name, "limits": limits, "enforcement": enforcement},
    )
    _limits_changed(actor.organization)
    return tier


def customer_tier_get(*, slug: str):
    from apps.metering.models import CustomerTier

    tier = CustomerTier.objects.filter(slug=slug).first()
    if tier is None:
        raise TierNotFound(f"No customer tier {slug!r}.")
    return tier


def customer_tier_update(*, actor, slug: str, **fields: Any):
    from apps.settings.services import audit_record

    with transaction.atomic():
        tier = customer_tier_get(slug=slug)
        tier = type(tier).objects.select_for_update().get(pk=tier.pk)
        limits = fields.get("limits", tier.limits)
        enforcement = fields.get("enforcement")
        if enforcement is None:
            # New limits without modes keep the modes of the dimensions still limited.
            enforcement = {d: mode for d, mode in tier.enforcements.items() if d in limits}
        limits, enforcement = _clean_limits(limits, enforcement)
        changes: dict[str, Any] = {}
        for attr, value in (
            ("name", fields.get("name", tier.name)),
            ("description", fields.get("description", tier.description)),
            ("limits", limits),
            ("enforcements", enforcement),
        ):
            if getattr(tier, attr) != value:
                changes[attr] = value
                setattr(tier, attr, value)
        if changes:
            tier.save(update_fields=[*changes, "updated_at"])
    if changes:
        audit_record(
            actor=actor, action="customer_tier.update", resource_type="customer_tier", resource_id=slug, changes=changes
        )
        _limits_changed(actor.organization)
    return tier


def customer_tier_delete(*, actor, slug: str) -> None:
    from apps.settings.selectors import customer_list
    from apps.settings.services import audit_record

    tier = customer_tier_get(slug=slug)
    in_use = customer_list(tier=slug).count()
    if in_use:
        raise TierInUse(
            f"{in_use} customer(s) are in the tier {slug!r}; move them to another tier first.",
            details={"slug": slug, "customers": in_use},
        )
    tier.delete()
    audit_record(actor=actor, action="customer_tier.delete", resource_type="customer_tier", resource_id=slug)
    _limits_changed(actor.organization)


def customer_limits_set(*, actor, external_id: str, limits: dict, enforcement: dict):
    """Replace a customer's own limits.

    `limits`: dimension → a non-negative integer, or None for no limit;
    `enforcement`: dimension → mode, for dimensions given in `limits` (the
    others take the tier's mode, or Hard Block). Dimensions left out follow
    the customer's tier.
    """
    from apps.metering.models import CustomerLimit
    from apps.settings.selectors import customer_get
    from apps.settings.services import audit_record

    customer = customer_get(external_id=external_id)
    limits, enforcement = _clean_limits(limits, enforcement)
    with transaction.atomic():
        existing = {row.dimension: row for row in CustomerLimit.objects.select_for_update().filter(customer=customer)}
        CustomerLimit.objects.filter(customer=customer).exclude(dimension__in=list(limits)).delete()
        for dimension, limit in limits.items():
            row = existing.get(dimension) or CustomerLimit(customer=customer, dimension=dimension)
            row.limit = limit
            row.enforcement = enforcement.get(dimension, "")
            row.updated_by = actor.label[:255]
            row.save()
    audit_record(
        actor=actor,
        action="customer_limits.update",
        resource_type="customer",
        resource_id=external_id,
        changes={"limits": limits, "enforcement": enforcement},
    )
    _limits_changed(actor.organization, external_id)
    return customer


def customer_limits_clear(*, actor, external_id: str) -> None:
    from apps.metering.models import CustomerLimit
    from apps.settings.selectors import customer_get
    from apps.settings.services import audit_record

    customer = customer_get(external_id=external_id)
    deleted, _ = CustomerLimit.objects.filter(customer=customer).delete()
    if deleted:
        audit_record(actor=actor, action="customer_limits.delete", resource_type="customer", resource_id=external_id)
        _limits_changed(actor.organization, external_id)


# --- Rollups ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RollupResult:
    windows: int
    levels: int


def _field_scope(field_name: str) -> tuple[str, bool] | None:
    """A hash field → (customer external id or "" for the organization, is-a-refusal count)."""
    refused = field_name.startswith(counters.REFUSED_PREFIX)
    if refused:
        field_name = field_name[len(counters.REFUSED_PREFIX) :]
    if field_name == counters.ORG_FIELD:
        return "", refused
    if field_name.startswith(counters.CUSTOMER_FIELD_PREFIX):
        return field_name[len(counters.CUSTOMER_FIELD_PREFIX) :], refused
    return None


def rollup_windows(organization, now: float) -> list[tuple[str, Window]]:
    """The (meter, window) pairs a rollup copies: recent minutes, today and yesterday."""
    tz_name = organization.timezone
    minutes = [minute_window(now - 60 * back) for back in range(settings.FASTN_USAGE_ROLLUP_LOOKBACK_MINUTES)]
    today = local_date(now, tz_name)
    days = [day_window_for_date(tz_name, today), day_window_for_date(tz_name, today - dt.timedelta(days=1))]
    pairs: list[tuple[str, Window]] = []
    for meter in sorted(WINDOWED_METERS):
        periods = {DIMENSIONS[d].period for d in METER_DIMENSIONS[meter]}
        if Period.MINUTE in periods:
            pairs.extend((meter, w) for w in minutes)
        if Period.DAY in periods:
            pairs.extend((meter, w) for w in days)
    return pairs


def usage_rollup(*, organization, now: float | None = None) -> RollupResult:
    """Copy the organization's recent counters into PostgreSQL. Idempotent.

    Runs inside the organization's schema. Window rows keep the highest value
    seen (a counter only grows within its window); levels take the current value.
    """
    now = time.time() if now is None else now
    pairs = rollup_windows(organization, now)
    level_meters = sorted(LEVEL_METERS)
    keys = [counters.hash_key(organization.pk, meter, window.token) for meter, window in pairs]
    keys += [counters.hash_key(organization.pk, meter, "t") for meter in level_meters]
    hashes = counters.read_hashes(keys)

    rows: dict[tuple[str, str, dt.datetime, str], list] = {}
    for (meter, window), values in zip(pairs, hashes[: len(pairs)], strict=True):
        day = local_date(window.start, organization.timezone)
        for field_name, value in values.items():
            scope = _field_scope(field_name)
            if scope is None:
                continue
            customer, refused = scope
            row = rows.setdefault((meter, window.period, window.start_datetime, customer), [day, 0, 0])
            row[2 if refused else 1] = value
    levels: list[tuple[str, str, int]] = []
    for meter, values in zip(level_meters, hashes[len(pairs) :], strict=True):
        for field_name, value in values.items():
            scope = _field_scope(field_name)
            if scope is not None and not scope[1]:
                levels.append((meter, scope[0], value))

    with connection.cursor() as cursor:
        if rows:
            cursor.executemany(
                """
                INSERT INTO metering_usagerollup
                    (meter, period, window_start, day, customer_external_id, used, rejected, updated_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, now())
                ON CONFLICT (meter, period, window_start, customer_external_id) DO UPDATE SET
                    used = GREATEST(metering_usagerollup.used, EXCLUDED.used),
                    rejected = GREATEST(metering_usagerollup.rejected, EXCLUDED.rejected),
                    updated_at = now()
                WHERE metering_usagerollup.used < EXCLUDED.used
                   OR metering_usagerollup.rejected < EXCLUDED.rejected
                """,
                [(m, p, start, v[0], c, v[1], v[2]) for (m, p, start, c), v in rows.items()],
            )
        if levels:
            cursor.executemany(
                """
                INSERT INTO metering_usagelevel (meter, customer_external_id, value, updated_at)
                VALUES (%s, %s, %s, now())
                ON CONFLICT (meter, customer_external_id) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
                WHERE metering_usagelevel.value <> EXCLUDED.value
                """,
                levels,
            )
    return RollupResult(windows=len(rows), levels=len(levels))


def usage_prune(*, now: float | None = None) -> int:
    """Drop minute rollups and notices past their retention (current schema)."""
    from apps.metering.models import QuotaNotice, UsageRollup

    current = timezone.now() if now is None else dt.datetime.fromtimestamp(now, dt.UTC)
    minute_cutoff = current - dt.timedelta(days=settings.FASTN_USAGE_MINUTE_RETENTION_DAYS)
    deleted, _ = UsageRollup.objects.filter(period=Period.MINUTE, window_start__lt=minute_cutoff).delete()
    notices, _ = QuotaNotice.objects.filter(created_at__lt=current - dt.timedelta(days=90)).delete()
    return deleted + notices


def usage_rollup_all(*, now: float | None = None) -> dict[str, int]:
    """The minute's beat: roll up every organization, each in its own schema.

    One organization's failure is logged and does not stop the others; Redis
    being away stops the round (the next minute's catches up: window counters
    outlive their window).
    """
    from apps.billing.tasks import send_quota_notice
    from apps.core.models import Organization

    now = time.time() if now is None else now
    stats = {"organizations": 0, "windows": 0, "levels": 0, "failed": 0}
    for organization in Organization.objects.filter(is_template=False).select_related("plan").order_by("pk"):
        with organization_context(organization):
            try:
                result = usage_rollup(organization=organization, now=now)
                usage_prune(now=now)
                for notice_id in quota_notices_unsent():
                    send_quota_notice.delay(notice_id)
            except (redis.RedisError, OSError):
                logger.warning("Usage rollup stopped: Redis is unavailable.", exc_info=True)
                stats["failed"] += 1
                break
            except Exception:
                logger.exception("Usage rollup failed for %s", organization.slug)
                stats["failed"] += 1
                continue
        stats["organizations"] += 1
        stats["windows"] += result.windows
        stats["levels"] += result.levels
    return stats
