"""The limits that apply to an organization and to one of its customers.

Organization limits come from its plan, which the request's organization
already carries (the tenant lookup selects it), so they cost no query.

Customer limits are the customer's tier's limits with the customer's own
limits over them. Loading them takes three queries, so each process keeps
them a short while (`FASTN_QUOTA_LIMITS_CACHE_SECONDS`). A change made through
the billing services drops this process's copies at once and bumps the
organization's version in Redis; other processes see the new version in the
answer of their next quota check and drop theirs, so at most one request per
process runs on the old limits.

Changes made elsewhere — a customer created after calls already named it, or
moved to another tier through the customers API — apply when the cached
entry expires, within FASTN_QUOTA_LIMITS_CACHE_SECONDS.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from apps.billing.quotas import DIMENSION_ORDER, Enforcement

UNLIMITED = (None, Enforcement.HARD_BLOCK.value)
MAX_CACHED = 20_000


@dataclass(frozen=True)
class CustomerLimits:
    """A customer's effective limit and mode per dimension (only where one applies)."""

    external_id: str
    tier: str
    limits: dict[str, tuple[int | None, str]]  # dimension → (limit or None, enforcement)
    sources: dict[str, str]  # dimension → "tier" or "customer"

    def get(self, dimension: str) -> tuple[int | None, str]:
        return self.limits.get(dimension, UNLIMITED)


def organization_limit(organization, dimension: str) -> tuple[int | None, str]:
    plan = organization.plan
    return plan.limits.get(dimension), plan.enforcement_for(dimension)


def build_customer_limits(*, external_id: str, tier_slug: str, tier, overrides: list) -> CustomerLimits:
    """Combine a tier (or None) and a customer's own limit rows."""
    limits: dict[str, tuple[int | None, str]] = {}
    sources: dict[str, str] = {}
    if tier is not None:
        for dimension in DIMENSION_ORDER:
            if dimension in tier.limits:
                mode = tier.enforcements.get(dimension) or Enforcement.HARD_BLOCK.value
                limits[dimension] = (tier.limits[dimension], mode)
                sources[dimension] = "tier"
    for row in overrides:
        inherited_mode = limits.get(row.dimension, UNLIMITED)[1]
        limits[row.dimension] = (row.limit, row.enforcement or inherited_mode)
        sources[row.dimension] = "customer"
    return CustomerLimits(external_id, tier_slug, limits, sources)


def load_customer_limits(external_id: str) -> CustomerLimits | None:
    """From the current schema; None when there is no such customer."""
    from apps.metering.models import CustomerLimit, CustomerTier
    from apps.settings.exceptions import CustomerNotFound
    from apps.settings.selectors import customer_get

    try:
        customer = customer_get(external_id=external_id)
    except CustomerNotFound:
        return None
    tier = CustomerTier.objects.filter(slug=customer.tier).first()
    overrides = list(CustomerLimit.objects.filter(customer=customer))
    return build_customer_limits(external_id=external_id, tier_slug=customer.tier, tier=tier, overrides=overrides)


@dataclass
class _Entry:
    value: CustomerLimits | None
    expires: float
    version: int | None


_cache: dict[tuple[str, str], _Entry] = {}
_versions: dict[str, int] = {}  # schema → last limits version seen in Redis
_lock = threading.Lock()


def cached_customer_limits(organization, external_id: str) -> CustomerLimits | None:
    """The customer's limits, from this process's cache when fresh."""
    schema = organization.schema_name
    cache_key = (schema, external_id)
    now = time.monotonic()
    entry = _cache.get(cache_key)
    if entry is not None and entry.expires > now and (entry.version is None or entry.version == _versions.get(schema)):
        return entry.value
    value = load_customer_limits(external_id)
    with _lock:
        if len(_cache) >= MAX_CACHED:
            _cache.clear()
        _cache[cache_key] = _Entry(value, now + settings.FASTN_QUOTA_LIMITS_CACHE_SECONDS, _versions.get(schema))
    return value


def observe_version(organization, version: int) -> None:
    """Record the limits version Redis reported; a change makes cached limits stale."""
    schema = organization.schema_name
    previous = _versions.get(schema)
    if previous == version:
        return
    with _lock:
        _versions[schema] = version
        if previous is not None:
            for cache_key in [k for k in _cache if k[0] == schema]:
                _cache.pop(cache_key, None)


def forget(organization, external_id: str | None = None) -> None:
    """Drop this process's cached limits of one customer, or of all of an organization's."""
    schema = organization.schema_name
    with _lock:
        if external_id is not None:
            _cache.pop((schema, external_id), None)
        else:
            for cache_key in [k for k in _cache if k[0] == schema]:
                _cache.pop(cache_key, None)


def clear() -> None:
    """Forget everything (tests)."""
    with _lock:
        _cache.clear()
        _versions.clear()
