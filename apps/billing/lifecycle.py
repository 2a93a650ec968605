"""Billing's part in creating an organization: its plan (apps.core.lifecycle)."""

from __future__ import annotations

from apps.billing.models import Plan
from apps.core.exceptions import InvalidOrganizationName


def organization_plan_assign(organization, options: dict) -> None:
    """Give the unsaved organization the plan asked for; the template gets the cheapest."""
    if options.get("template"):
        organization.plan = Plan.objects.order_by("monthly_price_cents").first()
        return
    plan_slug = options.get("plan_slug", "free")
    plan = Plan.objects.filter(slug=plan_slug).first()
    if plan is None:
        raise InvalidOrganizationName.for_field("plan", f"There is no plan {plan_slug!r}.")
    organization.plan = plan
