"""Storage that workflows use, measured for quotas: `fastn.state` values and
`fastn.db` schemas, per organization and per customer.

State writes count their growth against the `storage_bytes` quota as they
happen; a periodic measurement (beat, `workflows.measure_storage`) overwrites
the levels with what is really stored, including fastn.db tables, which grow
through SQL the platform does not see byte by byte.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from apps.settings.models import Customer
from apps.workflows.models import StateEntry


def storage_measure(*, organization) -> tuple[int, dict[str, int]]:
    """(organization total, {customer external id: bytes}) for state and fastn.db."""
    from apps.workflows.sandbox_db import sandbox_storage_by_organization

    per_customer_id: dict[str, int] = {}
    total = 0
    live = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    for row in StateEntry.objects.filter(live).values("customer_id").annotate(bytes=Sum("size_bytes")):
        size = int(row["bytes"] or 0)
        total += size
        if row["customer_id"] is not None:
            key = row["customer_id"].hex
            per_customer_id[key] = per_customer_id.get(key, 0) + size
    databases = sorted(set(getattr(settings, "FASTN_REGION_DATABASES", {}).values()) | {"default"})
    for database in databases:
        for suffix, size in sandbox_storage_by_organization(organization.pk, database).items():
            total += size
            if suffix != "org":
                per_customer_id[suffix] = per_customer_id.get(suffix, 0) + size
    ids = [uuid.UUID(hex=key) for key in per_customer_id]
    external = dict(Customer.objects.filter(id__in=ids).values_list("id", "external_id"))
    per_customer = {
        external[uuid.UUID(hex=key)]: size for key, size in per_customer_id.items() if uuid.UUID(hex=key) in external
    }
    return total, per_customer


def storage_reconcile(*, organization) -> int:
    """Set the storage quota levels to what is stored now. Returns the total."""
    from apps.billing.services import quota_levels_set

    total, per_customer = storage_measure(organization=organization)
    quota_levels_set(organization=organization, meter="storage_bytes", organization_value=total, customers=per_customer)
    return total
