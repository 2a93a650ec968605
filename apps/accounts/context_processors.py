def sso(request):
    """Whether the sign-in page offers "Sign in with SSO", and its label."""
    from django.conf import settings

    from apps.accounts.oidc import oidc_enabled

    return {"sso_enabled": oidc_enabled(), "sso_label": settings.FASTN_OIDC_LABEL}
