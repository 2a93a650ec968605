from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    """Sign-up is closed unless ACCOUNT_ALLOW_REGISTRATION is on: people join
    organizations by invitation or by bootstrap."""

    def is_open_for_signup(self, request) -> bool:
        return bool(getattr(settings, "ACCOUNT_ALLOW_REGISTRATION", False))
