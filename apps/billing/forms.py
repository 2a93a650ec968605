"""Dashboard forms of Settings → Billing. They only parse input; services decide."""

from __future__ import annotations

from django import forms

from apps.billing.quotas import DIMENSION_ORDER, Dimension, Enforcement


def _limit_field() -> forms.IntegerField:
    return forms.IntegerField(
        required=False, min_value=0, widget=forms.NumberInput(attrs={"min": 0, "placeholder": "—"})
    )


class LimitsFormMixin:
    """One limit input and one mode select per dimension."""

    inherit_label = "No limit"

    def add_dimension_fields(self, *, allow_inherit_mode: bool) -> None:
        mode_choices = list(Enforcement.choices)
        if allow_inherit_mode:
            mode_choices = [("", "Inherit"), *mode_choices]
        for dimension in DIMENSION_ORDER:
            self.fields[f"limit_{dimension}"] = _limit_field()
            self.fields[f"mode_{dimension}"] = forms.ChoiceField(choices=mode_choices, required=False)

    def dimension_rows(self):
        return [
            {
                "dimension": dimension,
                "label": Dimension(dimension).label,
                "limit": self[f"limit_{dimension}"],
                "mode": self[f"mode_{dimension}"],
                "unlimited": self[f"unlimited_{dimension}"] if f"unlimited_{dimension}" in self.fields else None,
            }
            for dimension in DIMENSION_ORDER
        ]


class TierForm(LimitsFormMixin, forms.Form):
    """A tier: blank limits mean the tier sets no limit for that dimension."""

    slug = forms.SlugField(max_length=64, help_text="The value customers carry in their tier field.")
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, tier=None, **kwargs):
        if tier is not None and "initial" not in kwargs:
            initial = {"slug": tier.slug, "name": tier.name, "description": tier.description}
            for dimension, value in tier.limits.items():
                initial[f"limit_{dimension}"] = value
            for dimension, mode in tier.enforcements.items():
                initial[f"mode_{dimension}"] = mode
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.add_dimension_fields(allow_inherit_mode=False)
        if tier is not None:
            self.fields["slug"].disabled = True

    def limits(self) -> tuple[dict, dict]:
        limits, modes = {}, {}
        for dimension in DIMENSION_ORDER:
            value = self.cleaned_data.get(f"limit_{dimension}")
            if value is not None:
                limits[dimension] = value
                modes[dimension] = self.cleaned_data.get(f"mode_{dimension}") or Enforcement.HARD_BLOCK.value
        return limits, modes


class CustomerLimitsForm(LimitsFormMixin, forms.Form):
    """A customer's own limits: blank follows the tier; "no limit" lifts it."""

    def __init__(self, *args, detail=None, **kwargs):
        if detail is not None and "initial" not in kwargs:
            initial = {}
            for dimension, row in detail["dimensions"].items():
                own = row["customer"]
                if own is not None:
                    if own["limit"] is None:
                        initial[f"unlimited_{dimension}"] = True
                    else:
                        initial[f"limit_{dimension}"] = own["limit"]
                    initial[f"mode_{dimension}"] = own["enforcement"] or ""
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.add_dimension_fields(allow_inherit_mode=True)
        for dimension in DIMENSION_ORDER:
            self.fields[f"unlimited_{dimension}"] = forms.BooleanField(required=False)

    def clean(self):
        cleaned = super().clean()
        for dimension in DIMENSION_ORDER:
            has_limit = cleaned.get(f"limit_{dimension}") is not None or cleaned.get(f"unlimited_{dimension}")
            if cleaned.get(f"mode_{dimension}") and not has_limit:
                self.add_error(f"mode_{dimension}", "Give a limit (or “no limit”) to choose a mode.")
        return cleaned

    def limits(self) -> tuple[dict, dict]:
        limits, modes = {}, {}
        for dimension in DIMENSION_ORDER:
            if self.cleaned_data.get(f"unlimited_{dimension}"):
                limits[dimension] = None
            elif self.cleaned_data.get(f"limit_{dimension}") is not None:
                limits[dimension] = self.cleaned_data[f"limit_{dimension}"]
            else:
                continue
            if self.cleaned_data.get(f"mode_{dimension}"):
                modes[dimension] = self.cleaned_data[f"mode_{dimension}"]
        return limits, modes
