"""Plans: named sets of quota limits (public schema).

An organization's own limits come from its plan. Per-organization billing
data (customer tiers and limits, usage rollups, notices) lives in each
organization's schema, in the `apps.metering` app.
"""

from django.db import models

from apps.metering.dimensions import Enforcement, validate_enforcements, validate_limits


class Plan(models.Model):
    """A plan's limits per quota dimension; `None` means unlimited.

    `enforcement` is the plan's mode for every dimension, unless
    `enforcements` names another one for a dimension. `monthly_credits` is
    how many executions a month the plan includes (`None`: no cap); the
    dashboard counts them down, limits are enforced per dimension.
    """

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    limits = models.JSONField(default=dict, validators=[validate_limits])
    enforcement = models.CharField(max_length=16, choices=Enforcement.choices, default=Enforcement.HARD_BLOCK)
    enforcements = models.JSONField(default=dict, blank=True, validators=[validate_enforcements])
    monthly_price_cents = models.PositiveIntegerField(default=0)
    monthly_credits = models.PositiveIntegerField(null=True, blank=True, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["monthly_price_cents", "slug"]

    def __str__(self) -> str:
        return self.name

    def limit(self, dimension: str) -> int | None:
        return self.limits.get(dimension)

    def enforcement_for(self, dimension: str) -> str:
        return self.enforcements.get(dimension) or self.enforcement
