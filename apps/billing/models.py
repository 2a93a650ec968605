"""Plans: named sets of quota limits (public schema)."""

from django.core.exceptions import ValidationError
from django.db import models

from apps.billing.quotas import Dimension, Enforcement


def validate_limits(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Limits must be an object of dimension → integer or null.")
    for name, limit in value.items():
        if name not in Dimension.values:
            raise ValidationError(f"Unknown quota dimension {name!r}.")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise ValidationError(f"{name}: a limit is a non-negative integer, or null for unlimited.")


class Plan(models.Model):
    """A plan's limits per quota dimension; `None` means unlimited."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    limits = models.JSONField(default=dict, validators=[validate_limits])
    enforcement = models.CharField(max_length=16, choices=Enforcement.choices, default=Enforcement.HARD_BLOCK)
    monthly_price_cents = models.PositiveIntegerField(default=0)
    monthly_credits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["monthly_price_cents", "slug"]

    def __str__(self) -> str:
        return self.name

    def limit(self, dimension: str) -> int | None:
        return self.limits.get(dimension)
