"""API authentication: API keys (the three headers of API.md) and dashboard
sessions. Both produce a `Principal` bound to the request's organization."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication

from apps.accounts.principals import Principal
from apps.accounts.selectors import membership_for

ACCESS_KEY_HEADER = "HTTP_X_FASTN_ACCESS_KEY"


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _organization_or_fail(request):
    django_request = getattr(request, "_request", request)
    organization = getattr(django_request, "tenant", None)
    if organization is not None:
        return organization
    problem = getattr(django_request, "tenant_problem", "")
    if problem == "unknown_account":
        raise exceptions.AuthenticationFailed("The account in x-fastn-account-id does not exist.", "unknown_account")
    raise exceptions.AuthenticationFailed(
        "Name your organization with the x-fastn-account-id header.", "account_required"
    )


class ApiKeyAuthentication(BaseAuthentication):
    """`x-fastn-access-key` + `x-fastn-account-id`.

    The key is looked up only inside the named organization's schema, so a
    key of another organization is simply not found: 401, never data.
    """

    def authenticate(self, request):
        raw_key = request.META.get(ACCESS_KEY_HEADER)
        if not raw_key:
            return None
        organization = _organization_or_fail(request)
        from apps.accounts.registry import api_key_authenticate

        api_key = api_key_authenticate(raw_key=raw_key.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("The API key is not valid for this account.", "invalid_api_key")
        if organization.status != organization.Status.ACTIVE:
            raise exceptions.AuthenticationFailed("This account is suspended.", "account_suspended")
        return Principal.for_api_key(organization=organization, api_key=api_key, ip=client_ip(request)), api_key

    def authenticate_header(self, request) -> str:
        return 'ApiKey realm="fastn", header="x-fastn-access-key"'


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <JWT>` issued by the OIDC provider, + `x-fastn-account-id`.

    The token is validated against the provider's JWKS (RS256 signature,
    issuer, audience FASTN_OIDC_API_AUDIENCE or the client id, expiry) and
    mapped to the member it identifies: the principal acts with that member's
    role in the named organization. An alternative to API keys for people.
    """

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        from apps.accounts import oidc

        if not oidc.oidc_enabled():
            raise exceptions.AuthenticationFailed("Bearer tokens are not enabled on this server.", "invalid_token")
        organization = _organization_or_fail(request)
        try:
            claims = oidc.validate_token(token.strip(), audience=oidc.api_audience())
        except oidc.OIDCError as exc:
            raise exceptions.AuthenticationFailed(f"The bearer token was refused: {exc}", "invalid_token")
        user = oidc.user_for_claims(claims, create=False)
        membership = membership_for(user=user, organization=organization) if user is not None else None
        if membership is None:
            raise exceptions.AuthenticationFailed("You are not a member of this account.", "not_a_member")
        if organization.status != organization.Status.ACTIVE:
            raise exceptions.AuthenticationFailed("This account is suspended.", "account_suspended")
        principal = Principal.for_member(
            organization=organization, user=user, role=membership.role, ip=client_ip(request)
        )
        principal.extra["auth"] = "bearer"
        return principal, None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="fastn"'


class SessionMemberAuthentication(SessionAuthentication):
    """A signed-in dashboard user, acting with their role in the organization."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        organization = _organization_or_fail(request)
        membership = membership_for(user=user, organization=organization)
        if membership is None:
            raise exceptions.AuthenticationFailed("You are not a member of this account.", "not_a_member")
        return Principal.for_member(
            organization=organization, user=user, role=membership.role, ip=client_ip(request)
        ), None

    def authenticate_header(self, request) -> str:
        return 'ApiKey realm="fastn", header="x-fastn-access-key"'
