"""Finding a request's customer (`x-fastn-account-tenant-id`) from core.

Customers are tenancy's second level (DESIGN.md): the API base view
(apps.core.api) and the row-level security middleware (apps.core.rls) need
them, but the Customer table belongs to apps.settings, which registers its
two lookups here from `SettingsConfig.ready()`. Without them core refuses
(ImproperlyConfigured) rather than serve a customer-scoped call unscoped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class CustomerLookup:
    get: Callable[..., Any]  # get(external_id=…) → the customer; raises the app's NotFound
    id_for: Callable[..., Any]  # id_for(external_id=…) → its id, or None


_lookup: CustomerLookup | None = None


def register_customer_lookup(*, get: Callable[..., Any], id_for: Callable[..., Any]) -> None:
    global _lookup
    _lookup = CustomerLookup(get=get, id_for=id_for)


def _registered() -> CustomerLookup:
    if _lookup is None:
        raise ImproperlyConfigured("No app registered the customer lookup (apps.settings does, in its ready()).")
    return _lookup


def customer_get(*, external_id: str):
    """The customer with this external id (a NotFound error when there is none)."""
    return _registered().get(external_id=external_id)


def customer_id_for_external_id(*, external_id: str):
    """The customer's id for a header value, or None when there is none."""
    return _registered().id_for(external_id=external_id)
