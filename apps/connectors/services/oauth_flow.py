"""The OAuth 2.0 authorisation-code flow (with PKCE) that connects a customer.

1. `oauth_authorize_start` checks the return URL against the organization's
   allow-list, records an `OAuthState` (customer, connector, where to
   return, the PKCE verifier encrypted) and answers where to send the
   browser. Its `state` parameter is a signed token naming the organization
   and the state row.
2. The state is bound to the browser that started it (see
   `apps.connectors.oauth_binding`): at once when that browser is present
   (`browser_secret` given: the answer is the provider's URL), else through
   a begin link on this host that the first browser to open it claims
   (`oauth_begin_resolve` + `oauth_state_bind`).
3. The provider sends the browser to `/api/v1/oauth/callback` with a code.
   `oauth_state_resolve` checks the signature and age and finds the
   organization; `oauth_callback_complete` claims the state (single use and
   only from the bound browser: one conditional UPDATE), exchanges the code,
   stores the tokens encrypted, and answers where to send the browser: the
   caller's `redirect_uri` with `status=connected&connection_id=…`, or
   `status=error&error=…`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from apps.accounts.principals import Principal
from apps.connectors import oauth
from apps.connectors.credentials import config_check
from apps.connectors.exceptions import (
    ConnectionConfigError,
    ConnectorError,
    InvalidOAuthState,
    NotAnOAuthConnector,
    OAuthAppNotConfigured,
    OAuthError,
)
from apps.connectors.models import OAuthRedirectUri, OAuthState
from apps.connectors.oauth_binding import binding_hash
from apps.connectors.redirect_uris import RedirectUriError, normalize_entry, return_url_allowed
from apps.connectors.services.calls import connector_load
from apps.connectors.services.connections import connection_connect_oauth, connector_for_connections
from apps.connectors.services.oauth_apps import OAuthClient, oauth_client_for, organization_client, platform_client
from apps.connectors.services.tokens import is_client_credentials
from apps.core import crypto
from apps.core.errors import InvalidInput
from apps.core.models import Organization
from apps.core.tenancy import current_organization, organization_by_account_id
from apps.settings.models import Customer
from apps.settings.services import audit_record

STATE_SALT = "fastn.oauth.state"
BEGIN_SALT = "fastn.oauth.begin"
EXCHANGE_SECONDS = 20.0


def own_origins() -> list[str]:
    """The platform's own origins: always allowed as return URLs."""
    origins = []
    for url in (settings.FASTN_PUBLIC_URL, settings.FASTN_OAUTH_CALLBACK_URL):
        parts = urlsplit(url)
        try:
            origins.append(normalize_entry(f"{parts.scheme}://{parts.netloc}/"))
        except RedirectUriError:
            continue
    return origins


def _check_return_url(url: Any, *, trusted: bool) -> str:
    if not isinstance(url, str) or not url:
        raise InvalidInput.for_field("redirect_uri", "Give the URL to send the customer back to when they are done.")
    try:
        if trusted:
            return_url_allowed(url, [])  # only the URL's own shape is checked
            return url
        allowed = own_origins() + list(OAuthRedirectUri.objects.values_list("uri", flat=True))
        ok = return_url_allowed(url, allowed)
    except RedirectUriError as exc:
        raise InvalidInput.for_field("redirect_uri", str(exc)) from None
    if not ok:
        parts = urlsplit(url)
        raise InvalidInput.for_field(
            "redirect_uri",
            f"{parts.scheme}://{parts.netloc}{parts.path} is not an allowed return URL of this organization: "
            "add it in Settings → OAuth Apps → Allowed return URLs (PUT /api/v1/oauth/redirect-uris).",
            code="redirect_uri_not_allowed",
        )
    return url


def with_query(url: str, **params: str) -> str:
    """`url` with `params` added to its query string (a fragment is dropped)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend((k, v) for k, v in params.items() if v is not None)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def oauth_authorize_start(
    *,
    actor: Principal,
    connector_slug: str,
    customer: Customer | None,
    return_url: str,
    scopes: list[str] | None = None,
    config: Mapping[str, Any] | None = None,
    browser_secret: str | None = None,
    trusted_return_url: bool = False,
) -> tuple[str, OAuthState]:
    """Begin connecting: (where to send the browser, the state row).

    With `browser_secret` (the starting browser is present and holds that
    secret in its cookie: `apps.connectors.oauth_binding`), the state is
    bound to it now and the URL is the provider's. Without, the URL is a
    begin link on this host that the first browser to open it claims.
    `return_url` must be on the organization's allow-list unless
    `trusted_return_url` (the platform built it, e.g. the dashboard's own page)."""
    loaded = connector_for_connections(slug=connector_slug)
    auth = loaded.head["auth"]
    if auth.get("type") != "oauth2":
        raise NotAnOAuthConnector(
            f"The connector {loaded.slug!r} does not use OAuth: create its connection with credentials."
        )
    if is_client_credentials(auth):
        raise NotAnOAuthConnector(
            f"The connector {loaded.slug!r} uses the client-credentials grant: there is no sign-in step; "
            "create its connection with POST /api/v1/connections."
        )
    client = oauth_client_for(connector_slug=loaded.slug)
    if client is None:
        raise OAuthAppNotConfigured(
            f"No OAuth app is configured for {loaded.slug!r}: add the client id and secret of your app "
            "in Settings → OAuth Apps."
        )
    return_url = _check_return_url(return_url, trusted=trusted_return_url)
    config = config_check(loaded.head, config, require=False)
    chosen = (
        list(scopes) if scopes is not None else (client.scopes if client.scopes is not None else list(auth["scopes"]))
    )
    verifier = oauth.generate_code_verifier() if auth.get("pkce") else ""
    organization = current_organization()
    now = timezone.now()
    with transaction.atomic():
        # Old states are only history: drop them as new ones are made.
        OAuthState.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
        state = OAuthState.objects.create(
            connector_id=loaded.id,
            customer=customer,
            oauth_app=client.app,
            client_id=client.client_id,
            callback_url=client.callback_url,
            return_url=return_url,
            code_verifier_ciphertext=crypto.encrypt(verifier) if verifier else "",
            scopes=chosen,
            config=config,
            started_by=actor.label[:255],
            started_via=actor.kind[:32],
            binding_hash=binding_hash(browser_secret) if browser_secret else "",
            expires_at=now + timedelta(seconds=settings.FASTN_OAUTH_STATE_TTL_SECONDS),
        )
        token = signing.dumps({"a": str(organization.account_id), "s": state.id.hex}, salt=STATE_SALT)
        try:
            url = oauth.build_authorize_url(
                loaded.head,
                client.client_id,
                client.callback_url,
                token,
                oauth.code_challenge_s256(verifier) if verifier else None,
                chosen,
                connection_config=config,
            )
        except ConnectionConfigError as exc:
            raise InvalidInput.for_field(f"config.{exc.field}" if exc.field else "config", exc.message) from None
        except ConnectorError as exc:
            raise InvalidInput(exc.message, code="oauth_not_possible") from None
        state.authorize_url = url
        state.save(update_fields=["authorize_url"])
    if browser_secret:
        return url, state
    return oauth_begin_url(state, account_id=str(organization.account_id)), state


def oauth_begin_url(state: OAuthState, *, account_id: str) -> str:
    """The begin link of an unbound state, on the host of its callback (so
    that the cookie it sets comes back with the callback)."""
    ticket = signing.dumps({"a": account_id, "s": state.id.hex}, salt=BEGIN_SALT)
    callback = urlsplit(state.callback_url)
    if callback.path.endswith("/callback"):
        base = urlunsplit((callback.scheme, callback.netloc, callback.path[: -len("callback")] + "begin", "", ""))
    else:
        base = settings.FASTN_PUBLIC_URL.rstrip("/") + "/api/v1/oauth/begin"
    return f"{base}?{urlencode({'ticket': ticket})}"


def _resolve(token: str, *, salt: str, what: str) -> tuple[Organization, uuid.UUID]:
    try:
        data = signing.loads(token, salt=salt, max_age=settings.FASTN_OAUTH_STATE_TTL_SECONDS)
        organization = organization_by_account_id(data["a"])
        state_id = uuid.UUID(data["s"])
    except signing.SignatureExpired:
        raise InvalidOAuthState("This authorisation took too long and has expired; start connecting again.") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidOAuthState(f"The {what} of this link is not valid.") from None
    if organization is None:
        raise InvalidOAuthState(f"The {what} names no organization.")
    return organization, state_id


def oauth_begin_resolve(*, ticket: str) -> tuple[Organization, uuid.UUID]:
    """The organization and state id a begin link's `ticket` names (signature and age checked)."""
    return _resolve(ticket, salt=BEGIN_SALT, what="ticket")


def oauth_state_bind(*, state_id: uuid.UUID, browser_secret: str) -> str:
    """Claim an unbound authorisation for the browser holding `browser_secret`
    (the first to open the begin link wins; the same browser may open it
    again). Returns where to send the browser: the provider, or the return
    URL with `status=error` when another browser claimed it or it is over."""
    now = timezone.now()
    wanted = binding_hash(browser_secret)
    live = OAuthState.objects.filter(pk=state_id, consumed_at__isnull=True, expires_at__gt=now)
    claimed = live.filter(binding_hash="").update(binding_hash=wanted)
    state = OAuthState.objects.select_related("connector", "customer").filter(pk=state_id).first()
    if state is None:
        raise InvalidOAuthState("This authorisation is unknown; start connecting again.")
    if claimed or (state.binding_hash == wanted and state.consumed_at is None and state.expires_at > now):
        return state.authorize_url
    if state.consumed_at is not None or state.expires_at <= now:
        return _fail(state, "invalid_state", "This authorisation was completed already or has expired.")
    return _fail(
        state,
        "state_not_bound",
        "This authorisation link was opened in another browser already; start connecting again.",
    )


def oauth_state_resolve(*, token: str) -> tuple[Organization, uuid.UUID]:
    """The organization and state id a callback's `state` names (signature and age checked)."""
    return _resolve(token, salt=STATE_SALT, what="state parameter")


def _client_of(state: OAuthState) -> OAuthClient | None:
    """The client the authorisation was started with, if it is still configured."""
    if state.oauth_app_id:
        return organization_client(state.oauth_app) if state.oauth_app.client_id == state.client_id else None
    platform = platform_client(state.connector.slug)
    return platform if platform is not None and platform.client_id == state.client_id else None


def _fail(state: OAuthState, error: str, description: str) -> str:
    """Audit a failed authorisation; the URL that tells the caller's page."""
    audit_record(
        actor=_callback_actor(state),
        action="connection.create",
        resource_type="connection",
        resource_id="",
        outcome="error",
        changes={"connector": state.connector.slug, "customer": _external_id(state), "error": error},
    )
    return with_query(state.return_url, status="error", error=error, error_description=description[:300])


def oauth_callback_complete(
    *, state_id: uuid.UUID, params: Mapping[str, str], browser_secret: str | None = None
) -> str:
    """Finish an authorisation in the current organization; returns the URL
    to send the browser to. Only the browser the state is bound to (holding
    `browser_secret`) can finish it; another one is sent back with
    `error=state_not_bound` and leaves the state usable by its own browser.
    Raises InvalidOAuthState when the state is unknown; every other failure
    goes back to the caller's URL as `status=error&error=<code>&error_description=<text>`."""
    now = timezone.now()
    live = OAuthState.objects.filter(pk=state_id, consumed_at__isnull=True, expires_at__gt=now)
    claimed = (
        live.exclude(binding_hash="").filter(binding_hash=binding_hash(browser_secret)).update(consumed_at=now)
        if browser_secret
        else 0
    )
    state = OAuthState.objects.select_related("connector", "customer", "oauth_app").filter(pk=state_id).first()
    if state is None:
        raise InvalidOAuthState("This authorisation is unknown; start connecting again.")

    def fail(error: str, description: str) -> str:
        return _fail(state, error, description)

    if not claimed:
        if state.consumed_at is None and state.expires_at > now:
            return fail(
                "state_not_bound",
                "This authorisation was started in another browser: start connecting again from this one.",
            )
        return fail("invalid_state", "This authorisation was completed already or has expired; start connecting again.")
    if params.get("error"):
        return fail(str(params["error"])[:100], str(params.get("error_description") or ""))
    code = params.get("code")
    if not code:
        return fail("invalid_request", "The provider sent no authorisation code.")
    loaded = connector_load(slug=state.connector.slug)
    if loaded is None or not loaded.enabled:
        return fail("connector_unavailable", f"The connector {state.connector.slug!r} is no longer available.")
    client = _client_of(state)
    if client is None:
        return fail(
            "oauth_app_not_configured", "The OAuth app this authorisation started with is no longer configured."
        )
    auth = loaded.head["auth"]
    config = dict(state.config or {})
    for field, param in (auth.get("connection_from_callback") or {}).items():
        if params.get(param):
            config[field] = params[param]
    verifier = crypto.decrypt(state.code_verifier_ciphertext) if state.code_verifier_ciphertext else None
    try:
        token = oauth.exchange_code(
            loaded.head,
            client_id=client.client_id,
            client_secret=client.client_secret,
            code=code,
            redirect_uri=state.callback_url,
            code_verifier=verifier,
            connection_config=config,
            deadline=time.monotonic() + EXCHANGE_SECONDS,
            allow_private=settings.FASTN_ALLOW_PRIVATE_NETWORK,
        )
    except OAuthError as exc:
        return fail(exc.error_code, exc.description or exc.message)
    except ConnectorError as exc:
        return fail("oauth_failed", exc.message)
    config.update(oauth.connection_updates_from_token(loaded.head, token))
    connection, _created = connection_connect_oauth(
        actor=_callback_actor(state),
        loaded=loaded,
        customer=state.customer,
        credentials=token,
        config=config,
        client=client,
    )
    return with_query(state.return_url, status="connected", connection_id=str(connection.pk))


def _external_id(state: OAuthState) -> str | None:
    return state.customer.external_id if state.customer_id else None


def _callback_actor(state: OAuthState) -> Principal:
    label = f"OAuth callback (started by {state.started_by})" if state.started_by else "OAuth callback"
    return Principal.system(organization=current_organization(), label=label[:255])
