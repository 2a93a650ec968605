from django import forms

from apps.accounts.roles import SystemRole
from apps.settings.models import ApiKey, Customer


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ApiKey.Kind.choices)
    role = forms.ChoiceField(choices=[("", "Default for the kind"), *SystemRole.choices], required=False)


class SecretForm(forms.Form):
    name = forms.CharField(max_length=128)
    value = forms.CharField(widget=forms.PasswordInput(render_value=False), strip=False)


class CustomerForm(forms.Form):
    external_id = forms.CharField(max_length=255, label="External ID")
    name = forms.CharField(max_length=255)
    tier = forms.SlugField(max_length=64, initial="standard")
    region = forms.ChoiceField(choices=Customer.Region.choices, initial=Customer.Region.US)
