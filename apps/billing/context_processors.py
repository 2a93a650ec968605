"""The credits counter of the dashboard's top bar."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject


def credits(request):
    """`billing_credits`: the plan's credits left this month, computed only if a page shows it.

    Only on organization pages, for roles that may view billing.
    """
    principal = getattr(request, "principal", None)
    organization = getattr(request, "organization", None)
    if principal is None or organization is None or not principal.can("billing", "view"):
        return {}

    def compute():
        from apps.billing.selectors import credits_summary

        return credits_summary(organization=organization)

    return {"billing_credits": SimpleLazyObject(compute)}
