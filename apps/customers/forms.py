from django import forms

from apps.settings.models import Customer


class CustomerEditForm(forms.Form):
    name = forms.CharField(max_length=255)
    tier = forms.SlugField(
        max_length=64,
        required=False,
        help_text="A tier defined under Billing gives the customer limits of its own; empty: the plan's only.",
    )
    region = forms.ChoiceField(choices=Customer.Region.choices)
