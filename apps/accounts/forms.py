import zoneinfo

from django import forms

from apps.accounts.models import Membership


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=())
    team = forms.ChoiceField(choices=(), required=False)

    def __init__(self, *args, roles=(), teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = list(roles)
        self.fields["role"].initial = "viewer"
        self.fields["team"].choices = [("", "No team"), *teams]


class PeopleFilterForm(forms.Form):
    role = forms.CharField(required=False, max_length=64)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Membership.Status.choices])
    team = forms.CharField(required=False, max_length=64)
    q = forms.CharField(required=False, max_length=100)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=255, required=False)


class GeneralForm(forms.Form):
    name = forms.CharField(max_length=200)
    timezone = forms.ChoiceField(choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class EmailDomainForm(forms.Form):
    domain = forms.CharField(max_length=253)
    auto_approve = forms.BooleanField(required=False, label="Auto-approve")


class AcceptInvitationForm(forms.Form):
    password1 = forms.CharField(widget=forms.PasswordInput, label="Choose a password", strip=False)
    password2 = forms.CharField(widget=forms.PasswordInput, label="Repeat it", strip=False)

    def clean(self):
        data = super().clean()
        if data.get("password1") != data.get("password2"):
            raise forms.ValidationError("The two passwords differ.")
        return data


class SignupOrganizationForm(forms.Form):
    """The extra field of allauth's sign-up form (ACCOUNT_SIGNUP_FORM_CLASS):
    the organization to create once the address is verified. Asked only
    when self-serve sign-up is on (ACCOUNT_ALLOW_REGISTRATION)."""

    organization = forms.CharField(label="Organization name", max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.conf import settings

        if getattr(settings, "ACCOUNT_ALLOW_REGISTRATION", False):
            self.fields["organization"].required = True
        else:
            del self.fields["organization"]

    def clean_organization(self) -> str:
        from apps.core.models import Organization
        from apps.core.services import organization_slug_for

        name = self.cleaned_data["organization"].strip()
        if name and (
            Organization.objects.filter(name__iexact=name).exists()
            or Organization.objects.filter(slug=organization_slug_for(name)).exists()
        ):
            raise forms.ValidationError("An organization with this name exists already: choose another name.")
        return name

    def signup(self, request, user) -> None:
        from apps.accounts.services import signup_organization_request

        name = self.cleaned_data.get("organization")
        if name:
            signup_organization_request(user=user, name=name)
