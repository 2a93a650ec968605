"""Finding the organization a request belongs to, and running code inside one.

A request names its organization in one of three ways, tried in this order:

1. the dashboard URL prefix `/o/<slug>/`;
2. the `x-fastn-account-id` header (API calls);
3. the host name, through the Domain table (custom domains).

Resolution only says which schema to use. Whether the caller may act in it is
decided by authentication (API keys exist per schema) and by membership checks
(dashboard), never by resolution alone.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from apps.core.models import Domain, Organization

logger = logging.getLogger(__name__)

ACCOUNT_HEADER = "HTTP_X_FASTN_ACCOUNT_ID"
DASHBOARD_PREFIX = "/o/"
HOOKS_PREFIX = "/hooks/"


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving a request: an organization, or why not."""

    organization: Organization | None
    source: str  # "path", "header", "host" or "none"
    problem: str = ""  # "unknown_account", "unknown_organization", "inactive_account"


def _live(queryset):
    return queryset.filter(is_template=False).select_related("plan")


# account id → (expiry, organization): every API call names its account, and
# organizations change rarely. A change anywhere bumps one version number in
# Redis (`organization_changed`); each process compares it with the one its
# cache was filled under at most every FASTN_TENANT_CACHE_CHECK_SECONDS and
# drops the whole cache when it moved, so a suspension or a plan change
# reaches every process within that time, not within the TTL. While Redis
# cannot be read, the cache is not used (a suspension must not wait for it).
_by_account: dict[uuid.UUID, tuple[float, Organization]] = {}
_CACHE_LIMIT = 10_000
_VERSION_KEY = ("organizations", "version")
_FAILURE_BACKOFF_SECONDS = 2.0


class _Freshness:
    version: bytes | None = None  # the version the cache was filled under
    checked_at = float("-inf")
    redis_failed_at = float("-inf")


_fresh = _Freshness()


def _cache_usable() -> bool:
    """Whether this process's cache may answer: Redis says no organization
    changed since it was filled (asked at most every check interval)."""
    now = time.monotonic()
    if now - _fresh.redis_failed_at < _FAILURE_BACKOFF_SECONDS:
        return False
    if now - _fresh.checked_at < settings.FASTN_TENANT_CACHE_CHECK_SECONDS:
        return True
    from redis.exceptions import RedisError

    from apps.core.redis import get_redis, key

    try:
        version = get_redis().get(key(*_VERSION_KEY)) or b"0"
    except (RedisError, OSError):
        logger.warning("Redis unreachable: organizations are looked up without the cache for now.")
        _by_account.clear()
        _by_id.clear()
        _fresh.redis_failed_at = now
        return False
    if version != _fresh.version:
        _by_account.clear()
        _by_id.clear()
        _fresh.version = version
    _fresh.checked_at = now
    return True


def organization_by_account_id(value: str) -> Organization | None:
    try:
        account_id = uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        return None
    ttl = settings.FASTN_TENANT_CACHE_SECONDS
    usable = ttl > 0 and _cache_usable()
    if usable:
        cached = _by_account.get(account_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
    organization = _live(Organization.objects).filter(account_id=account_id).first()
    if organization is not None and usable:
        if len(_by_account) >= _CACHE_LIMIT:
            _by_account.clear()
        _by_account[account_id] = (time.monotonic() + ttl, organization)
    return organization


def organization_changed(organization: Organization) -> None:
    """An organization changed (status, plan, name…): drop it from this
    process's cache now and, once the change is committed, tell every other
    process (they drop their caches within FASTN_TENANT_CACHE_CHECK_SECONDS).
    `Organization.save()` and `.delete()` call it (apps.core.apps); code
    that changes organizations with `QuerySet.update()` must call it."""
    _by_account.pop(organization.account_id, None)
    _by_id.pop(organization.pk, None)
    transaction.on_commit(_publish_change)


def _publish_change() -> None:
    from redis.exceptions import RedisError

    from apps.core.redis import get_redis, key

    _fresh.checked_at = float("-inf")  # this process re-reads the version at once too
    try:
        get_redis().incr(key(*_VERSION_KEY))
    except (RedisError, OSError):
        # Every process stops trusting its cache while Redis is unreachable
        # (see _cache_usable), so nothing stale is served meanwhile.
        logger.warning("Could not publish an organization change to Redis.", exc_info=True)


def organization_forget(organization: Organization) -> None:
    """Drop a changed organization from every process's cache (`organization_changed`)."""
    organization_changed(organization)


# organization id → (expiry, organization), for webhooks (the route names the
# id): kept and dropped like the account-id cache above.
_by_id: dict[int, tuple[float, Organization]] = {}


def organization_by_id(pk: int) -> Organization | None:
    """A live organization by primary key, cached like `organization_by_account_id`."""
    ttl = settings.FASTN_TENANT_CACHE_SECONDS
    usable = ttl > 0 and _cache_usable()
    if usable:
        cached = _by_id.get(pk)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
    organization = _live(Organization.objects).filter(pk=pk).first()
    if organization is not None and usable:
        if len(_by_id) >= _CACHE_LIMIT:
            _by_id.clear()
        _by_id[pk] = (time.monotonic() + ttl, organization)
    return organization


def organization_by_slug(slug: str) -> Organization | None:
    return _live(Organization.objects).filter(slug=slug).first()


def organization_by_host(host: str) -> Organization | None:
    domain = Domain.objects.select_related("tenant__plan").filter(domain=host.lower()).first()
    if domain is None or domain.tenant.is_template:
        return None
    return domain.tenant


def tenant_for_request(path: str, meta: dict) -> Resolution:
    """Decide the organization for a request from its path, headers and host."""
    if path.startswith(DASHBOARD_PREFIX):
        slug = path[len(DASHBOARD_PREFIX) :].split("/", 1)[0]
        if not slug:
            return Resolution(None, "none")
        org = organization_by_slug(slug)
        return Resolution(org, "path", "" if org else "unknown_organization")

    if path.startswith(HOOKS_PREFIX):
        # A hook's token names its organization (apps.triggers.hooks): no lookup here.
        return Resolution(None, "none")

    header = meta.get(ACCOUNT_HEADER)
    if header:
        org = organization_by_account_id(header)
        if org is None:
            return Resolution(None, "header", "unknown_account")
        return Resolution(org, "header")

    host = (meta.get("HTTP_HOST") or "").split(":", 1)[0]
    if host:
        org = organization_by_host(host)
        if org is not None:
            return Resolution(org, "host")
    return Resolution(None, "none")


@contextlib.contextmanager
def organization_context(organization: Organization) -> Iterator[Organization]:
    """Run a block inside an organization's schema, then restore the previous one."""
    previous = getattr(connection, "tenant", None)
    connection.set_tenant(organization)
    try:
        yield organization
    finally:
        if previous is None or getattr(previous, "schema_name", "public") == "public":
            connection.set_schema_to_public()
        else:
            connection.set_tenant(previous)


def current_organization() -> Organization | None:
    """The organization whose schema the connection uses, or None in public."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or not isinstance(tenant, Organization):
        return None
    return tenant
