"""OAuth 2.0 building blocks for connectors whose ``auth.type`` is ``oauth2``.

Only the pure parts live here: building the authorisation URL, PKCE, and the
three token-endpoint calls (code exchange, refresh, client credentials), each
returning a normalised token dict::

    {"access_token": str, "token_type": str,
     "refresh_token"?: str, "expires_at"?: int (epoch seconds), "scope"?: str,
     "extra"?: {...every other field of the provider's answer...}}

Storing tokens, locking around a refresh and retrying a call after a 401 is
the Django layer's job (apps/connections), because it needs the database.

Token requests are never retried here: an authorisation code is single-use
and many providers rotate refresh tokens, so a blind retry can burn the
connection. Errors are :class:`OAuthError` with the RFC 6749 code
(``invalid_grant`` means: ask the customer to connect again).
"""

from __future__ import annotations

import base64
import hashlib
import secrets as _secrets
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from apps.connectors.definition import normalize_definition
from apps.connectors.exceptions import ConnectorError, OAuthError
from apps.connectors.executor import connection_values, render_url_template
from apps.connectors.templating import TemplateContext, get_path
from apps.core import http

__all__ = [
    "build_authorize_url",
    "client_credentials_token",
    "code_challenge_s256",
    "connection_updates_from_token",
    "exchange_code",
    "expiry_epoch",
    "generate_code_verifier",
    "generate_state",
    "is_expired",
    "normalize_token_response",
    "refresh_token",
    "revocation_token",
    "revoke_token",
]

TOKEN_CALL_SECONDS: Final = 20.0
_STANDARD_FIELDS: Final = frozenset(
    {"access_token", "refresh_token", "token_type", "expires_in", "expires_at", "scope"}
)


# --------------------------------------------------------------------------
# PKCE and state (RFC 7636)
# --------------------------------------------------------------------------


def generate_code_verifier(length: int = 64) -> str:
    """A random PKCE verifier of ``length`` (43-128) unreserved characters."""
    if not 43 <= length <= 128:
        raise ValueError("A PKCE verifier is 43 to 128 characters long")
    return _secrets.token_urlsafe(length)[:length]


def code_challenge_s256(verifier: str) -> str:
    """``BASE64URL(SHA256(verifier))`` without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def generate_state() -> str:
    """An unguessable ``state`` value binding the callback to its request."""
    return _secrets.token_urlsafe(32)


# --------------------------------------------------------------------------
# Authorisation URL
# --------------------------------------------------------------------------


def _oauth2_config(definition: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    normalized = normalize_definition(definition)
    auth = normalized["auth"]
    if auth.get("type") != "oauth2":
        raise ConnectorError(f"The connector {normalized['slug']!r} does not use OAuth 2.0")
    return normalized, auth


def _context(definition: Mapping[str, Any], connection_config: Mapping[str, Any] | None) -> TemplateContext:
    return TemplateContext(connection=connection_values(definition, connection_config))


def build_authorize_url(
    definition: Mapping[str, Any],
    client_id: str,
    redirect_uri: str,
    state: str,
    code_challenge: str | None = None,
    scopes: Iterable[str] | None = None,
    *,
    connection_config: Mapping[str, Any] | None = None,
    extra_params: Mapping[str, str] | None = None,
) -> str:
    """The URL to send the customer's browser to.

    ``scopes`` defaults to the definition's; a connector with ``pkce: true``
    needs ``code_challenge`` (from :func:`code_challenge_s256`). Templated
    authorisation URLs (Shopify's per-shop host) take ``connection_config``.
    """
    normalized, auth = _oauth2_config(definition)
    if auth["grant"] != "authorization_code":
        raise ConnectorError(f"The connector {normalized['slug']!r} uses the {auth['grant']} grant: no browser step")
    if auth["pkce"] and not code_challenge:
        raise ConnectorError(f"The connector {normalized['slug']!r} requires PKCE: pass a code_challenge")
    url = render_url_template(auth["authorization_url"], _context(normalized, connection_config))
    chosen = list(auth["scopes"] if scopes is None else scopes)
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if chosen:
        params["scope"] = auth["scope_separator"].join(chosen)
    if code_challenge:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    params.update(auth["extra_authorize_params"])
    params.update(extra_params or {})
    parts = urlsplit(url)
    existing = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([*existing, *params.items()], quote_via=quote)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


# --------------------------------------------------------------------------
# Token endpoint
# --------------------------------------------------------------------------


def _scalar_expiry(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def normalize_token_response(
    payload: Mapping[str, Any], *, now: float | None = None, previous_refresh_token: str | None = None
) -> dict[str, Any]:
    """The normalised token dict from a provider's token response.

    A refresh answer without a new refresh token keeps the previous one
    (Google, Microsoft and others only send it once).
    """
    current = time.time() if now is None else now
    access_token = payload.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise OAuthError("invalid_response", "The token response has no access_token")
    token: dict[str, Any] = {
        "access_token": access_token,
        "token_type": str(payload.get("token_type") or "Bearer"),
    }
    refresh = payload.get("refresh_token") or previous_refresh_token
    if refresh:
        token["refresh_token"] = str(refresh)
    expires_in = _scalar_expiry(payload.get("expires_in"))
    if expires_in is not None and expires_in > 0:
        token["expires_at"] = int(current + expires_in)
    elif payload.get("expires_at") is not None:
        absolute = _expiry_epoch(payload["expires_at"])
        if absolute is not None:
            token["expires_at"] = int(absolute)
    scope = payload.get("scope")
    if isinstance(scope, list):
        scope = " ".join(str(s) for s in scope)
    if scope:
        token["scope"] = str(scope)
    extra = {k: v for k, v in payload.items() if k not in _STANDARD_FIELDS}
    if extra:
        token["extra"] = extra
    return token


def _parse_token_body(response: http.OutboundResponse) -> dict[str, Any]:
    if response.is_json and isinstance(response.json, dict):
        return response.json
    # Some endpoints (GitHub without Accept: application/json, older
    # Facebook-style ones) answer form-encoded.
    text = response.text.strip()
    if text and "=" in text and not text.startswith("<"):
        return dict(parse_qsl(text, keep_blank_values=True))
    return {}


def _token_request(
    definition: Mapping[str, Any],
    form: dict[str, str],
    *,
    client_id: str,
    client_secret: str | None,
    connection_config: Mapping[str, Any] | None,
    deadline: float | None,
    allow_private: bool,
    now: float | None,
    previous_refresh_token: str | None = None,
    url_key: str = "token_url",
    expect_token: bool = True,
) -> dict[str, Any]:
    normalized, auth = _oauth2_config(definition)
    url = render_url_template(auth[url_key], _context(normalized, connection_config))
    form = {**auth["extra_token_params"], **form}
    headers = {"Accept": "application/json"}
    if auth["token_auth_method"] == "client_secret_basic" and client_secret is not None:
        # RFC 6749 §2.3.1: form-encode each part before Basic encoding.
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    else:
        form["client_id"] = client_id
        if client_secret is not None:
            form["client_secret"] = client_secret
    hidden = [v for k, v in form.items() if k not in ("grant_type", "client_id", "redirect_uri", "scope")]
    hidden += [client_secret or "", headers.get("Authorization", "")[6:]]
    redactor = http.Redactor(hidden)
    try:
        response = http.request(
            "POST",
            url,
            form=form,
            headers=headers,
            deadline=deadline if deadline is not None else time.monotonic() + TOKEN_CALL_SECONDS,
            allow_private=allow_private,
            secrets=hidden,
            retries=0,
        )
    except http.OutboundError as exc:
        code = "temporarily_unavailable" if exc.retryable else exc.code
        raise OAuthError(code, redactor.redact(exc.message)) from None

    payload = _parse_token_body(response)
    error = payload.get("error")
    if payload.get("ok") is False and not error:  # Slack's shape
        error = "invalid_request"
    if error:
        description = payload.get("error_description") or payload.get("message") or ""
        if isinstance(error, Mapping):  # some APIs nest {"error": {"code", "message"}}
            description = description or str(error.get("message", ""))
            error = error.get("code") or "invalid_request"
        raise OAuthError(redactor.redact(str(error)), redactor.redact(str(description))[:500], status=response.status)
    if response.status >= 400:
        code = "server_error" if response.status >= 500 else "invalid_request"
        if response.status in (502, 503, 504, 429):
            code = "temporarily_unavailable"
        raise OAuthError(code, f"The token endpoint answered HTTP {response.status}", status=response.status)
    if not expect_token:
        return {}
    return normalize_token_response(payload, now=now, previous_refresh_token=previous_refresh_token)


def exchange_code(
    definition: Mapping[str, Any],
    *,
    client_id: str,
    client_secret: str | None,
    code: str,
    redirect_uri: str,
    code_verifier: str | None = None,
    connection_config: Mapping[str, Any] | None = None,
    deadline: float | None = None,
    allow_private: bool = False,
    now: float | None = None,
) -> dict[str, Any]:
    """Trade the callback's ``code`` (and the PKCE verifier) for tokens."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        form["code_verifier"] = code_verifier
    return _token_request(
        definition,
        form,
        client_id=client_id,
        client_secret=client_secret,
        connection_config=connection_config,
        deadline=deadline,
        allow_private=allow_private,
        now=now,
    )


def refresh_token(
    definition: Mapping[str, Any],
    *,
    client_id: str,
    client_secret: str | None,
    refresh_token: str,
    scopes: Iterable[str] | None = None,
    connection_config: Mapping[str, Any] | None = None,
    deadline: float | None = None,
    allow_private: bool = False,
    now: float | None = None,
) -> dict[str, Any]:
    """New tokens from a refresh token; keeps it when the provider sends none."""
    normalized, auth = _oauth2_config(definition)
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scopes:
        form["scope"] = auth["scope_separator"].join(scopes)
    return _token_request(
        normalized,
        form,
        client_id=client_id,
        client_secret=client_secret,
        connection_config=connection_config,
        deadline=deadline,
        allow_private=allow_private,
        now=now,
        previous_refresh_token=refresh_token,
    )


def client_credentials_token(
    definition: Mapping[str, Any],
    *,
    client_id: str,
    client_secret: str,
    scopes: Iterable[str] | None = None,
    connection_config: Mapping[str, Any] | None = None,
    deadline: float | None = None,
    allow_private: bool = False,
    now: float | None = None,
) -> dict[str, Any]:
    """A token for the client itself (machine-to-machine), no customer involved."""
    normalized, auth = _oauth2_config(definition)
    form = {"grant_type": "client_credentials"}
    chosen = list(auth["scopes"] if scopes is None else scopes)
    if chosen:
        form["scope"] = auth["scope_separator"].join(chosen)
    return _token_request(
        normalized,
        form,
        client_id=client_id,
        client_secret=client_secret,
        connection_config=connection_config,
        deadline=deadline,
        allow_private=allow_private,
        now=now,
    )


def revocation_token(definition: Mapping[str, Any], credentials: Mapping[str, Any]) -> tuple[str, str] | None:
    """(token, its kind) that revoking these credentials sends, or None when
    the connector defines no revocation or there is no such token."""
    _normalized, auth = _oauth2_config(definition)
    revocation = auth.get("revocation")
    if not revocation:
        return None
    order = ("refresh_token", "access_token") if revocation["token"] == "refresh_token" else ("access_token",)
    for kind in order:
        value = credentials.get(kind)
        if isinstance(value, str) and value:
            return value, kind
    return None


def revoke_token(
    definition: Mapping[str, Any],
    *,
    client_id: str,
    client_secret: str | None,
    credentials: Mapping[str, Any],
    connection_config: Mapping[str, Any] | None = None,
    deadline: float | None = None,
    allow_private: bool = False,
) -> bool:
    """Revoke a connection's token at the provider as ``auth.revocation`` says
    (RFC 7009 by default; GitHub's grant deletion, Slack's ``auth.revoke``,
    HubSpot's token in the path… by its fields). Returns False when the
    connector defines no revocation (or there is no token to revoke); raises
    OAuthError when the provider refuses or cannot be reached."""
    normalized, auth = _oauth2_config(definition)
    chosen = revocation_token(normalized, credentials)
    if chosen is None:
        return False
    token, kind = chosen
    revocation = auth["revocation"]
    context = TemplateContext(
        params={"token": token, "client_id": client_id},
        connection=connection_values(normalized, connection_config),
    )
    url = render_url_template(revocation["url"], context)
    params: dict[str, str] = dict(revocation["extra_params"])
    if revocation["token_param"]:
        params[revocation["token_param"]] = token
        if revocation["token_type_hint"]:
            params["token_type_hint"] = kind
    headers = {"Accept": "application/json"}
    style = revocation["auth"]
    if style == "client_secret_basic" and client_secret is not None:
        pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    elif style in ("client_secret_post", "client_secret_basic"):
        params["client_id"] = client_id
        if client_secret is not None:
            params["client_secret"] = client_secret
    elif style == "access_token":
        access = credentials.get("access_token")
        if not isinstance(access, str) or not access:
            raise OAuthError("invalid_request", "There is no access token to authenticate the revocation with")
        prefix = auth["token_prefix"]
        headers[auth["token_header"]] = f"{prefix} {access}" if prefix else access
    hidden = [token, client_secret or "", str(credentials.get("access_token") or ""), headers.get("Authorization", "")]
    body: dict[str, Any] = {}
    where = revocation["body"]
    if where == "form" and params:
        body["form"] = params
    elif where == "json":
        body["json"] = params
    elif where == "query" and params:
        body["params"] = params
    redactor = http.Redactor(hidden)
    try:
        response = http.request(
            revocation["method"],
            url,
            headers=headers,
            deadline=deadline if deadline is not None else time.monotonic() + TOKEN_CALL_SECONDS,
            allow_private=allow_private,
            secrets=hidden,
            sensitive_query_keys=[revocation["token_param"]] if revocation["token_param"] else (),
            retries=0,
            **body,
        )
    except http.OutboundError as exc:
        code = "temporarily_unavailable" if exc.retryable else exc.code
        raise OAuthError(code, redactor.redact(exc.message)) from None
    payload = _parse_token_body(response) if response.status != 204 else {}
    error = payload.get("error")
    if payload.get("ok") is False and not error:  # Slack's shape
        error = "invalid_request"
    if error or response.status >= 400:
        if response.status >= 500 or response.status in (408, 429):
            code = "temporarily_unavailable" if response.status in (429, 502, 503, 504) else "server_error"
        else:
            code = str(error.get("code") if isinstance(error, Mapping) else error or "invalid_request")
        description = payload.get("error_description") or payload.get("message") or ""
        if not description and response.status >= 400:
            description = f"The revocation endpoint answered HTTP {response.status}"
        raise OAuthError(redactor.redact(code)[:100], redactor.redact(str(description))[:500], status=response.status)
    return True


def connection_updates_from_token(definition: Mapping[str, Any], token: Mapping[str, Any]) -> dict[str, Any]:
    """Connection settings a token response carries (``connection_from_token``),
    e.g. Salesforce's ``instance_url``."""
    _normalized, auth = _oauth2_config(definition)
    source = {**(token.get("extra") or {}), **token}
    updates = {}
    for field_name, path in auth["connection_from_token"].items():
        value = get_path(source, path)
        if value not in (None, ""):
            updates[field_name] = value
    return updates


# --------------------------------------------------------------------------
# Expiry
# --------------------------------------------------------------------------


def _expiry_epoch(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    # Epoch milliseconds are common in JavaScript-made credentials.
    return number / 1000 if number > 1e11 else number


def expiry_epoch(value: Any) -> float | None:
    """An ``expires_at`` (epoch seconds or milliseconds, ISO 8601, datetime) as
    epoch seconds, or ``None`` when it cannot be read."""
    return _expiry_epoch(value)


def is_expired(credentials: Mapping[str, Any], buffer_seconds: float = 60, now: float | None = None) -> bool:
    """Whether the access token expires within ``buffer_seconds``.

    ``expires_at`` may be epoch seconds (or milliseconds), an ISO 8601 time
    (naive = UTC) or a datetime. Without a readable ``expires_at`` the token
    is assumed valid: the 401 path refreshes it if it is not.
    """
    expires_at = _expiry_epoch(credentials.get("expires_at"))
    if expires_at is None:
        return False
    current = time.time() if now is None else now
    return current + buffer_seconds >= expires_at
