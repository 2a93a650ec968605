"""The API-call quota, checked for every authenticated API request.

`WithinQuota` is the first of REST_FRAMEWORK's DEFAULT_PERMISSION_CLASSES,
so it runs for every API view right after authentication and before the
role check: each authenticated call counts as one API call, including calls
the role check then refuses (a key hammering an endpoint it may not use is
still limited, and cannot flood the audit log with denials). Unauthenticated
requests are left to the next permission class (401).

A view that must stay reachable when the quota is used up sets
`quota_exempt = True` (only `GET /api/v1/usage`, so a blocked client can see
why); such calls are not counted.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from apps.accounts.principals import Principal

DECISION_ATTRIBUTE = "fastn_quota"
# apps.core.api.CUSTOMER_HEADER; not imported: DRF imports this module while
# rest_framework.views itself is loading, and apps.core.api imports that.
CUSTOMER_HEADER = "HTTP_X_FASTN_ACCOUNT_TENANT_ID"


class WithinQuota(BasePermission):
    def has_permission(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, Principal) or getattr(view, "quota_exempt", False):
            return True
        django_request = request._request
        if hasattr(django_request, DECISION_ATTRIBUTE):
            return True  # counted once per request, even if DRF asks again
        from apps.billing.quotas import Meter
        from apps.billing.services import quota_consume

        customer = request.META.get(CUSTOMER_HEADER, "").strip() or None
        # Raises QuotaExceeded (429) or QuotaUnavailable (503); the API's
        # exception handler renders both.
        decision = quota_consume(
            organization=principal.organization, meter=Meter.API_CALLS, customer_external_id=customer
        )
        setattr(django_request, DECISION_ATTRIBUTE, decision)
        return True
