def sso(request):
    """Whether the sign-in page offers "Sign in with SSO", and its label."""
    from django.conf import settings

    from apps.accounts.oidc import oidc_enabled

    def signup_open() -> bool:  # called by the template only where it is used (the login page)
        from allauth.account.adapter import get_adapter

        return get_adapter(request).is_open_for_signup(request)

    return {"sso_enabled": oidc_enabled(), "sso_label": settings.FASTN_OIDC_LABEL, "signup_open": signup_open}
