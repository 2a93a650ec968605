"""The OAuth 2.0 authorisation-code flow (with PKCE) that connects a customer.

1. `oauth_authorize_start` records an `OAuthState` (customer, connector,
   where to return, the PKCE verifier encrypted) and answers the provider's
   authorisation URL. Its `state` parameter is a signed token naming the
   organization and the state row: the callback has no API key, the signed
   state is its credential.
2. The provider sends the browser to `/api/v1/oauth/callback` with a code.
   `oauth_state_resolve` checks the signature and age and finds the
   organization; `oauth_callback_complete` claims the state (single use: a
   conditional UPDATE), exchanges the code, stores the tokens encrypted, and
   answers where to send the browser: the caller's `redirect_uri` with
   `status=connected&connection_id=…`, or `status=error&error=…`.
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
from apps.connectors.models import OAuthState
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
EXCHANGE_SECONDS = 20.0
MAX_RETURN_URL = 2048


def _check_return_url(url: Any) -> str:
    if not isinstance(url, str) or not url:
        raise InvalidInput.for_field("redirect_uri", "Give the URL to send the customer back to when they are done.")
    parts = urlsplit(url)
    if (
        len(url) > MAX_RETURN_URL
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
    ):
        raise InvalidInput.for_field(
            "redirect_uri", "Use an absolute http(s) URL of at most 2048 characters, without credentials."
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
) -> tuple[str, OAuthState]:
    """Begin connecting: (the provider's authorisation URL, the state row)."""
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
    return_url = _check_return_url(return_url)
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
    return url, state


def oauth_state_resolve(*, token: str) -> tuple[Organization, uuid.UUID]:
    """The organization and state id a callback's `state` names (signature and age checked)."""
    try:
        data = signing.loads(token, salt=STATE_SALT, max_age=settings.FASTN_OAUTH_STATE_TTL_SECONDS)
        organization = organization_by_account_id(data["a"])
        state_id = uuid.UUID(data["s"])
    except signing.SignatureExpired:
        raise InvalidOAuthState("This authorisation took too long and has expired; start connecting again.") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidOAuthState("The state parameter of this callback is not valid.") from None
    if organization is None:
        raise InvalidOAuthState("The state parameter names no organization.")
    return organization, state_id


def _client_of(state: OAuthState) -> OAuthClient | None:
    """The client the authorisation was started with, if it is still configured."""
    if state.oauth_app_id:
        return organization_client(state.oauth_app) if state.oauth_app.client_id == state.client_id else None
    platform = platform_client(state.connector.slug)
    return platform if platform is not None and platform.client_id == state.client_id else None


def oauth_callback_complete(*, state_id: uuid.UUID, params: Mapping[str, str]) -> str:
    """Finish an authorisation in the current organization; returns the URL
    to send the browser to. Raises InvalidOAuthState when the state is
    unknown; every other failure goes back to the caller's URL as
    `status=error&error=<code>&error_description=<text>`."""
    now = timezone.now()
    claimed = OAuthState.objects.filter(pk=state_id, consumed_at__isnull=True, expires_at__gt=now).update(
        consumed_at=now
    )
    state = OAuthState.objects.select_related("connector", "customer", "oauth_app").filter(pk=state_id).first()
    if state is None:
        raise InvalidOAuthState("This authorisation is unknown; start connecting again.")

    def fail(error: str, description: str) -> str:
        audit_record(
            actor=_callback_actor(state),
            action="connection.create",
            resource_type="connection",
            resource_id="",
            outcome="error",
            changes={"connector": state.connector.slug, "customer": _external_id(state), "error": error},
        )
        return with_query(state.return_url, status="error", error=error, error_description=description[:300])

    if not claimed:
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
