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
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from apps.core.models import Domain, Organization

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
# organizations change rarely. Changes made through the services drop the entry
# at once in this process; other processes see them within the TTL.
_by_account: dict[uuid.UUID, tuple[float, Organization]] = {}
_CACHE_LIMIT = 10_000


def organization_by_account_id(value: str) -> Organization | None:
    try:
        account_id = uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        return None
    ttl = settings.FASTN_TENANT_CACHE_SECONDS
    if ttl > 0:
        cached = _by_account.get(account_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
    organization = _live(Organization.objects).filter(account_id=account_id).first()
    if organization is not None and ttl > 0:
        if len(_by_account) >= _CACHE_LIMIT:
            _by_account.clear()
        _by_account[account_id] = (time.monotonic() + ttl, organization)
    return organization


def organization_forget(organization: Organization) -> None:
    """Drop a changed organization from this process's cache."""
    _by_account.pop(organization.account_id, None)
    _by_id.pop(organization.pk, None)


# organization id → (expiry, organization), for webhooks (the route names the id).
_by_id: dict[int, tuple[float, Organization]] = {}


def organization_by_id(pk: int) -> Organization | None:
    """A live organization by primary key, kept like the account-id cache."""
    ttl = settings.FASTN_TENANT_CACHE_SECONDS
    if ttl > 0:
        cached = _by_id.get(pk)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
    organization = _live(Organization.objects).filter(pk=pk).first()
    if organization is not None and ttl > 0:
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
