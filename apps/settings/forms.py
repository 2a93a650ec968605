from django import forms

from apps.accounts.roles import SystemRole
from apps.settings.models import ApiKey, Customer


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ApiKey.Kind.choices)
    role = forms.ChoiceField(choices=[("", "Default for the kind"), *SystemRole.choices], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from apps.settings.selectors import role_choices

        self.fields["role"].choices = [("", "Default for the kind"), *role_choices()]


class SecretForm(forms.Form):
    name = forms.CharField(max_length=128)
    value = forms.CharField(widget=forms.PasswordInput(render_value=False), strip=False)


class CustomerForm(forms.Form):
    external_id = forms.CharField(max_length=255, label="External ID")
    name = forms.CharField(max_length=255)
    # No tier unless one is chosen: a tier is a set of limits defined under
    # Settings → Billing, and a made-up default ("standard") showed there as
    # a tier in use that nobody defined.
    tier = forms.SlugField(
        max_length=64,
        required=False,
        help_text="A tier defined under Billing gives the customer limits of its own; empty: the plan's only.",
    )
    region = forms.ChoiceField(choices=Customer.Region.choices, initial=Customer.Region.US)


class EnvironmentForm(forms.Form):
    slug = forms.SlugField(max_length=50, help_text="Lowercase letters, digits and '-'.")
    name = forms.CharField(max_length=100, required=False)
    is_production = forms.BooleanField(required=False, label="Production")


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=255)
    action = forms.CharField(required=False, max_length=64)
    resource_type = forms.CharField(required=False, max_length=64)
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), ("success", "Success"), ("denied", "Denied"), ("error", "Error")]
    )
    since = forms.DateField(required=False, label="From")
    until = forms.DateField(required=False, label="To")
    cursor = forms.CharField(required=False, max_length=200)


class RoleCreateForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.SlugField(max_length=64, required=False, help_text="From the name when empty.")
    description = forms.CharField(max_length=255, required=False)
    copy_from = forms.CharField(required=False, max_length=64, label="Start from")
