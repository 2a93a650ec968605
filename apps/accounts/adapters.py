"""django-allauth adapters: who may sign up, and what a verified address does.

Sign-up is closed unless ACCOUNT_ALLOW_REGISTRATION is on (self-serve: the
person names an organization, created with them as Owner once their address
is verified, then the setup assistant starts), except for
addresses at a domain an organization lists (Settings → General): those may
sign up, and once the address is verified they join that organization as
Viewer (auto-approve) or wait for approval. Everyone else joins by invitation.
"""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django import forms
from django.conf import settings


def _registration_open() -> bool:
    return bool(getattr(settings, "ACCOUNT_ALLOW_REGISTRATION", False))


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        if _registration_open():
            return True
        from apps.accounts.models import EmailDomain

        return EmailDomain.objects.filter(organization__is_template=False).exists()

    def clean_email(self, email: str) -> str:
        email = super().clean_email(email)
        if not _registration_open():
            from apps.accounts.services import email_domain_allows_signup

            if not email_domain_allows_signup(email=email):
                raise forms.ValidationError(
                    "Sign-up is by invitation. Ask an administrator of your organization to invite you."
                )
        return email

    def confirm_email(self, request, email_address) -> bool:
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            from apps.accounts.services import domain_join_for_verified_email, signup_organization_create

            domain_join_for_verified_email(user=email_address.user, email=email_address.email)
            # Self-serve sign-up: the organization asked for, with this person as Owner.
            signup_organization_create(user=email_address.user)
        return confirmed


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        if _registration_open():
            return True
        from apps.accounts.services import email_domain_allows_signup

        return any(
            address.verified and email_domain_allows_signup(email=address.email)
            for address in sociallogin.email_addresses
        )

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        from apps.accounts.services import domain_join_for_verified_email

        for address in sociallogin.email_addresses:
            if address.verified:
                domain_join_for_verified_email(user=user, email=address.email)
        return user
