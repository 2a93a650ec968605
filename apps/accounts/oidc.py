"""Single sign-on with an OIDC provider (Keycloak and any other compliant one),
and validation of the provider's JWTs for the API.

Configuration (environment): `FASTN_OIDC_ISSUER` (e.g.
`https://sso.example.com/realms/acme`), `OIDC_RP_CLIENT_ID`,
`OIDC_RP_CLIENT_SECRET`, optionally `FASTN_OIDC_API_AUDIENCE` for bearer
tokens. Endpoints come from the issuer's discovery document
(`/.well-known/openid-configuration`); explicit `OIDC_OP_*` settings win.

The browser flow is mozilla-django-oidc's authorization-code flow (state,
nonce, PKCE); its token and userinfo calls use the library's own HTTP client.
Discovery and JWKS are fetched here through `apps.core.http` and cached. ID
tokens and bearer tokens are validated the same way: RS256 signature against
the JWKS (refetched once when a new key id appears), issuer, audience,
expiry and issued-at, with a small leeway.

A signed-in SSO user is matched by their (issuer, subject) link, else by
their email address when the provider says it is verified; a new user is
created otherwise. Which organizations they may enter is decided as for
everyone else: invitations and email-domain rules.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import jwt
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from apps.core import http

logger = logging.getLogger(__name__)

ALGORITHMS = ["RS256"]
DISCOVERY_TTL_SECONDS = 3600
JWKS_MIN_REFRESH_SECONDS = 10

_lock = threading.Lock()
_cache: dict[str, tuple[float, Any]] = {}


class OIDCError(Exception):
    """The provider could not be reached, or a token is not acceptable."""


def oidc_enabled() -> bool:
    return bool(settings.FASTN_OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


def oidc_reset_caches() -> None:
    with _lock:
        _cache.clear()


def _fetch_json(url: str) -> dict:
    try:
        response = http.request(
            "GET",
            url,
            headers={"Accept": "application/json"},
            allow_private=settings.FASTN_OIDC_ALLOW_PRIVATE_NETWORK,
            retries=1,
            timeouts=http.Timeouts(connect=5, read=10, total=15),
            max_response_bytes=1024 * 1024,
        )
    except http.OutboundError as exc:
        raise OIDCError(f"The identity provider could not be reached: {exc}") from exc
    if not response.ok:
        raise OIDCError(f"The identity provider answered {response.status} for {url}.")
    body = response.json if response.is_json else None
    if not isinstance(body, dict):
        raise OIDCError(f"The identity provider sent an unexpected document from {url}.")
    return body


def discovery() -> dict:
    issuer = settings.FASTN_OIDC_ISSUER.rstrip("/")
    key = f"discovery:{issuer}"
    with _lock:
        cached = _cache.get(key)
    if cached and time.monotonic() - cached[0] < DISCOVERY_TTL_SECONDS:
        return cached[1]
    document = _fetch_json(f"{issuer}/.well-known/openid-configuration")
    if document.get("issuer", "").rstrip("/") != issuer:
        raise OIDCError("The discovery document names another issuer.")
    with _lock:
        _cache[key] = (time.monotonic(), document)
    return document


def _jwks(*, refresh: bool = False) -> dict:
    uri = getattr(settings, "OIDC_OP_JWKS_ENDPOINT", "") or discovery().get("jwks_uri", "")
    if not uri:
        raise OIDCError("The identity provider publishes no JWKS.")
    key = f"jwks:{uri}"
    with _lock:
        cached = _cache.get(key)
    age = time.monotonic() - cached[0] if cached else None
    fresh_enough = age is not None and age < settings.FASTN_OIDC_JWKS_CACHE_SECONDS
    if cached and (fresh_enough and not refresh or refresh and age < JWKS_MIN_REFRESH_SECONDS):
        return cached[1]
    document = _fetch_json(uri)
    if not isinstance(document.get("keys"), list):
        raise OIDCError("The JWKS has no keys.")
    with _lock:
        _cache[key] = (time.monotonic(), document)
    return document


def _signing_key(token: str) -> jwt.PyJWK:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise OIDCError("The token is not a JWT.") from exc
    if header.get("alg") not in ALGORITHMS:
        raise OIDCError(f"Tokens signed with {header.get('alg')!r} are not accepted.")
    kid = header.get("kid")
    for refresh in (False, True):
        for candidate in _jwks(refresh=refresh)["keys"]:
            if kid is not None and candidate.get("kid") != kid:
                continue
            if candidate.get("use", "sig") != "sig" or candidate.get("alg", header["alg"]) != header["alg"]:
                continue
            try:
                return jwt.PyJWK(candidate)
            except jwt.PyJWTError:
                continue
    raise OIDCError("No key of the identity provider matches the token.")


def validate_token(token: str, *, audience: str) -> dict:
    """The claims of a provider-issued JWT, or OIDCError saying why not."""
    key = _signing_key(token)
    try:
        return jwt.decode(
            token,
            key=key.key,
            algorithms=ALGORITHMS,
            audience=audience,
            issuer=settings.FASTN_OIDC_ISSUER.rstrip("/"),
            leeway=settings.FASTN_OIDC_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise OIDCError("The token has expired.") from exc
    except jwt.InvalidAudienceError as exc:
        raise OIDCError("The token is meant for another audience.") from exc
    except jwt.InvalidIssuerError as exc:
        raise OIDCError("The token comes from another issuer.") from exc
    except jwt.InvalidSignatureError as exc:
        raise OIDCError("The token's signature is not valid.") from exc
    except jwt.PyJWTError as exc:
        raise OIDCError(f"The token is not valid: {exc}.") from exc


def api_audience() -> str:
    return settings.FASTN_OIDC_API_AUDIENCE or settings.OIDC_RP_CLIENT_ID


# --- Users -------------------------------------------------------------------------------


def user_for_claims(claims: dict, *, create: bool):
    """The user an identity belongs to (linking it on first use), or None."""
    from apps.accounts.models import ExternalIdentity, User
    from apps.accounts.services import domain_join_for_verified_email, user_email_mark_verified

    issuer, subject = claims.get("iss", settings.FASTN_OIDC_ISSUER).rstrip("/"), str(claims.get("sub") or "")
    if not subject:
        return None
    identity = ExternalIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if identity is not None:
        ExternalIdentity.objects.filter(pk=identity.pk).update(last_login_at=timezone.now())
        return identity.user if identity.user.is_active else None
    email = (claims.get("email") or "").strip().lower()
    # Only an address the provider vouches for may claim an existing account.
    if not email or claims.get("email_verified") is False:
        return None
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        if not create:
            return None
        user = User.objects.create_user(email=email, password=None, name=str(claims.get("name") or "")[:150])
    if not user.is_active:
        return None
    ExternalIdentity.objects.get_or_create(
        issuer=issuer, subject=subject, defaults={"user": user, "last_login_at": timezone.now()}
    )
    user_email_mark_verified(user=user)
    domain_join_for_verified_email(user=user, email=user.email)
    return user


# --- mozilla-django-oidc ---------------------------------------------------------------------

_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


def oidc_setting(attr: str, *default):
    """mozilla-django-oidc's settings, with endpoints from discovery."""
    value = getattr(settings, attr, None)
    if value not in (None, ""):
        return value
    if attr in _ENDPOINTS and oidc_enabled():
        endpoint = discovery().get(_ENDPOINTS[attr])
        if endpoint:
            return endpoint
    if default:
        return default[0]
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"Setting {attr} not found")


class FastnOIDCBackend(OIDCAuthenticationBackend):
    """The OIDC code-flow backend; inert unless OIDC is configured.

    Django builds every backend for every login (passwords too), so the
    library's eager reading of settings in __init__ is deferred.
    """

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs) -> None:
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()

    def _configure(self) -> None:
        self.OIDC_OP_TOKEN_ENDPOINT = self.get_settings("OIDC_OP_TOKEN_ENDPOINT")
        self.OIDC_OP_USER_ENDPOINT = self.get_settings("OIDC_OP_USER_ENDPOINT")
        self.OIDC_OP_JWKS_ENDPOINT = self.get_settings("OIDC_OP_JWKS_ENDPOINT", None)
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        self.OIDC_RP_CLIENT_SECRET = self.get_settings("OIDC_RP_CLIENT_SECRET")
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request, **kwargs):
        if not oidc_enabled() or request is None or "code" not in request.GET:
            return None
        try:
            self._configure()
            return super().authenticate(request, **kwargs)
        except (OIDCError, SuspiciousOperation) as exc:
            logger.warning("SSO sign-in refused: %s", exc)
            return None
        except Exception as exc:  # noqa: BLE001 - the provider's HTTP errors (requests) end the sign-in, logged
            logger.warning("SSO sign-in failed: %s", exc.__class__.__name__)
            return None

    def verify_token(self, token, **kwargs):
        """Signature, issuer, audience (our client id), expiry, then nonce."""
        try:
            payload = validate_token(token, audience=self.OIDC_RP_CLIENT_ID)
        except OIDCError as exc:
            raise SuspiciousOperation(str(exc)) from exc
        nonce = kwargs.get("nonce")
        if self.get_settings("OIDC_USE_NONCE", True) and nonce != payload.get("nonce"):
            raise SuspiciousOperation("JWT Nonce verification failed.")
        self._id_claims = payload
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if str(userinfo.get("sub")) != str(payload.get("sub")):
            raise SuspiciousOperation("The userinfo subject differs from the ID token's.")
        claims = {**userinfo, "iss": payload["iss"], "sub": payload["sub"]}
        return user_for_claims(claims, create=self.get_settings("OIDC_CREATE_USER", True))

    def get_user(self, user_id):
        try:
            user = self.UserModel._default_manager.get(pk=user_id)
        except self.UserModel.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class FastnOIDCAuthenticationRequestView(OIDCAuthenticationRequestView):
    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        from django.shortcuts import redirect

        if not oidc_enabled():
            return redirect("account_login")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except OIDCError as exc:
            logger.warning("SSO unavailable: %s", exc)
            return redirect(f"{settings.LOGIN_URL}?sso=unavailable")
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        return super().get(request)


class FastnOIDCCallbackView(OIDCAuthenticationCallbackView):
    """The library's callback (state check, code exchange through the backend)."""

    get_settings = staticmethod(oidc_setting)
