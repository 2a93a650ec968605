"""OAuth 2.0 helpers against a fake token endpoint."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from apps.connectors.catalog import get_connector
from apps.connectors.exceptions import ConnectorError, OAuthError
from apps.connectors.oauth import (
    build_authorize_url,
    client_credentials_token,
    code_challenge_s256,
    connection_updates_from_token,
    exchange_code,
    generate_code_verifier,
    generate_state,
    is_expired,
    normalize_token_response,
    refresh_token,
)

NOW = 1_700_000_000.0
CLIENT_SECRET = "client-secret-XYZ987"


@pytest.fixture
def provider(httpserver: HTTPServer) -> dict[str, Any]:
    return {
        "slug": "acme-oauth",
        "name": "Acme",
        "base_url": "https://api.acme.example",
        "auth": {
            "type": "oauth2",
            "authorization_url": "https://auth.acme.example/authorize?audience=api",
            "token_url": httpserver.url_for("/token"),
            "scopes": ["contacts.read", "contacts.write"],
            "pkce": True,
            "extra_authorize_params": {"prompt": "consent"},
        },
        "actions": {"me": {"method": "GET", "path": "/me"}},
    }


def form_of(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.form.items()}


# --------------------------------------------------------------------------
# PKCE and the authorisation URL
# --------------------------------------------------------------------------


def test_pkce_challenge_matches_rfc_7636_appendix_b() -> None:
    assert (
        code_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_generated_verifiers_and_states_are_long_random_and_url_safe() -> None:
    verifiers = {generate_code_verifier() for _ in range(20)}
    assert len(verifiers) == 20
    for verifier in verifiers:
        assert len(verifier) == 64 and all(c.isalnum() or c in "-_" for c in verifier)
    assert len(generate_code_verifier(43)) == 43
    with pytest.raises(ValueError):
        generate_code_verifier(42)
    assert generate_state() != generate_state()


def test_authorize_url_carries_client_redirect_state_scopes_and_challenge(provider: dict[str, Any]) -> None:
    challenge = code_challenge_s256("v" * 50)
    url = build_authorize_url(provider, "client-1", "https://app.fastn.test/oauth/callback", "state-123", challenge)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://auth.acme.example/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "audience": "api",
        "response_type": "code",
        "client_id": "client-1",
        "redirect_uri": "https://app.fastn.test/oauth/callback",
        "state": "state-123",
        "scope": "contacts.read contacts.write",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "consent",
    }
    assert "%20" in url  # spaces in scope are percent-encoded


def test_authorize_url_requires_a_challenge_when_pkce_is_on(provider: dict[str, Any]) -> None:
    with pytest.raises(ConnectorError, match="PKCE"):
        build_authorize_url(provider, "client-1", "https://app/cb", "s")


def test_authorize_url_uses_the_scope_separator_and_explicit_scopes() -> None:
    slack = get_connector("slack")
    assert slack is not None
    url = build_authorize_url(slack, "c", "https://app/cb", "s", scopes=["chat:write", "users:read"])
    assert parse_qs(urlsplit(url).query)["scope"] == ["chat:write,users:read"]
    assert "code_challenge" not in url


def test_authorize_url_of_a_per_shop_provider_uses_the_connection() -> None:
    shopify = get_connector("shopify")
    assert shopify is not None
    url = build_authorize_url(shopify, "c", "https://app/cb", "s", connection_config={"shop": "acme"})
    assert url.startswith("https://acme.myshopify.com/admin/oauth/authorize?")
    from apps.connectors.exceptions import ConnectionConfigError

    with pytest.raises(ConnectionConfigError):
        build_authorize_url(shopify, "c", "https://app/cb", "s", connection_config={"shop": "evil.com/"})


def test_non_oauth_connectors_have_no_authorize_url() -> None:
    stripe = get_connector("stripe")
    assert stripe is not None
    with pytest.raises(ConnectorError):
        build_authorize_url(stripe, "c", "https://app/cb", "s")


# --------------------------------------------------------------------------
# Token endpoint
# --------------------------------------------------------------------------


def test_code_exchange_sends_the_verifier_and_normalises_the_answer(
    httpserver: HTTPServer, provider: dict[str, Any]
) -> None:
    seen: dict[str, Any] = {}

    def token(request: Request) -> Response:
        seen.update(form_of(request))
        seen["accept"] = request.headers.get("Accept")
        return Response(
            json.dumps(
                {
                    "access_token": "at-1",
                    "refresh_token": "rt-1",
                    "expires_in": 3600,
                    "token_type": "bearer",
                    "scope": "contacts.read",
                    "instance_url": "https://acme.example",
                }
            ),
            content_type="application/json",
        )

    httpserver.expect_request("/token", method="POST").respond_with_handler(token)
    tokens = exchange_code(
        provider,
        client_id="client-1",
        client_secret=CLIENT_SECRET,
        code="code-abc",
        redirect_uri="https://app/cb",
        code_verifier="verifier-" + "x" * 40,
        allow_private=True,
        now=NOW,
    )
    assert seen == {
        "grant_type": "authorization_code",
        "code": "code-abc",
        "redirect_uri": "https://app/cb",
        "code_verifier": "verifier-" + "x" * 40,
        "client_id": "client-1",
        "client_secret": CLIENT_SECRET,
        "accept": "application/json",
    }
    assert tokens == {
        "access_token": "at-1",
        "refresh_token": "rt-1",
        "expires_at": int(NOW) + 3600,
        "token_type": "bearer",
        "scope": "contacts.read",
        "extra": {"instance_url": "https://acme.example"},
    }


def test_client_secret_basic_sends_credentials_in_the_header(httpserver: HTTPServer, provider: dict[str, Any]) -> None:
    provider["auth"]["token_auth_method"] = "client_secret_basic"
    seen: dict[str, Any] = {}

    def token(request: Request) -> Response:
        seen["auth"] = request.headers.get("Authorization")
        seen["form"] = form_of(request)
        return Response(json.dumps({"access_token": "at"}), content_type="application/json")

    httpserver.expect_request("/token").respond_with_handler(token)
    exchange_code(
        provider,
        client_id="client 1",
        client_secret=CLIENT_SECRET,
        code="c",
        redirect_uri="https://app/cb",
        allow_private=True,
    )
    assert seen["auth"] == "Basic " + base64.b64encode(f"client%201:{CLIENT_SECRET}".encode()).decode()
    assert "client_secret" not in seen["form"] and "client_id" not in seen["form"]


def test_refresh_keeps_the_refresh_token_when_none_comes_back(httpserver: HTTPServer, provider: dict[str, Any]) -> None:
    httpserver.expect_request("/token").respond_with_handler(
        lambda request: Response(
            json.dumps({"access_token": "at-2", "expires_in": "1800"})
            if form_of(request)["refresh_token"] == "rt-1"
            else "{}",
            content_type="application/json",
        )
    )
    tokens = refresh_token(
        provider, client_id="c", client_secret=CLIENT_SECRET, refresh_token="rt-1", allow_private=True, now=NOW
    )
    assert tokens == {
        "access_token": "at-2",
        "token_type": "Bearer",
        "refresh_token": "rt-1",
        "expires_at": int(NOW) + 1800,
    }


def test_invalid_grant_raises_oauth_error_with_the_code(httpserver: HTTPServer, provider: dict[str, Any]) -> None:
    httpserver.expect_request("/token").respond_with_json(
        {"error": "invalid_grant", "error_description": "Token rt-revoked-123 has been revoked"}, status=400
    )
    with pytest.raises(OAuthError) as caught:
        refresh_token(
            provider, client_id="c", client_secret=CLIENT_SECRET, refresh_token="rt-revoked-123", allow_private=True
        )
    assert caught.value.error_code == "invalid_grant"
    assert not caught.value.retryable
    assert "rt-revoked-123" not in str(caught.value) and "rt-revoked-123" not in caught.value.description
    assert repr(caught.value).startswith("OAuthError('invalid_grant'")


def test_errors_in_a_200_answer_are_errors(httpserver: HTTPServer, provider: dict[str, Any]) -> None:
    # GitHub answers 200 with an error; Slack answers ok:false.
    httpserver.expect_ordered_request("/token").respond_with_json(
        {"error": "bad_verification_code", "error_description": "expired"}
    )
    httpserver.expect_ordered_request("/token").respond_with_json({"ok": False, "error": "invalid_code"})
    for expected in ("bad_verification_code", "invalid_code"):
        with pytest.raises(OAuthError) as caught:
            exchange_code(
                provider,
                client_id="c",
                client_secret=CLIENT_SECRET,
                code="x",
                redirect_uri="https://a/cb",
                allow_private=True,
            )
        assert caught.value.error_code == expected


def test_form_encoded_token_answers_are_understood(httpserver: HTTPServer, provider: dict[str, Any]) -> None:
    httpserver.expect_request("/token").respond_with_data(
        "access_token=gho_abc&scope=repo%2Cuser&token_type=bearer", content_type="application/x-www-form-urlencoded"
    )
    tokens = exchange_code(
        provider, client_id="c", client_secret=CLIENT_SECRET, code="x", redirect_uri="https://a/cb", allow_private=True
    )
    assert tokens["access_token"] == "gho_abc" and tokens["scope"] == "repo,user"


def test_server_failures_are_retryable_oauth_errors(httpserver: HTTPServer, provider: dict[str, Any]) -> None:
    httpserver.expect_request("/token").respond_with_data("<html>down</html>", status=503)
    with pytest.raises(OAuthError) as caught:
        refresh_token(provider, client_id="c", client_secret=CLIENT_SECRET, refresh_token="rt", allow_private=True)
    assert caught.value.error_code == "temporarily_unavailable" and caught.value.retryable


def test_a_token_answer_without_access_token_is_invalid(httpserver: HTTPServer, provider: dict[str, Any]) -> None:
    httpserver.expect_request("/token").respond_with_json({"token_type": "bearer"})
    with pytest.raises(OAuthError) as caught:
        exchange_code(
            provider,
            client_id="c",
            client_secret=CLIENT_SECRET,
            code="x",
            redirect_uri="https://a/cb",
            allow_private=True,
        )
    assert caught.value.error_code == "invalid_response"


def test_the_token_endpoint_is_ssrf_guarded(provider: dict[str, Any]) -> None:
    provider["auth"]["token_url"] = "http://169.254.169.254/token"
    with pytest.raises(OAuthError) as caught:
        exchange_code(
            provider,
            client_id="c",
            client_secret=CLIENT_SECRET,
            code="x",
            redirect_uri="https://a/cb",
            allow_private=True,
        )
    assert caught.value.error_code == "blocked_destination"


def test_client_credentials_grant(httpserver: HTTPServer, provider: dict[str, Any]) -> None:
    provider["auth"] = {
        "type": "oauth2",
        "grant": "client_credentials",
        "token_url": httpserver.url_for("/token"),
        "scopes": ["read"],
    }
    httpserver.expect_request("/token").respond_with_handler(
        lambda request: Response(
            json.dumps({"access_token": "m2m", "expires_in": 60, "echo": form_of(request)}),
            content_type="application/json",
        )
    )
    tokens = client_credentials_token(
        provider, client_id="svc", client_secret=CLIENT_SECRET, allow_private=True, now=NOW
    )
    assert tokens["access_token"] == "m2m" and tokens["expires_at"] == int(NOW) + 60
    assert tokens["extra"]["echo"] == {
        "grant_type": "client_credentials",
        "scope": "read",
        "client_id": "svc",
        "client_secret": CLIENT_SECRET,
    }


def test_connection_settings_from_the_token_answer() -> None:
    salesforce = get_connector("salesforce")
    assert salesforce is not None
    token = normalize_token_response(
        {"access_token": "00D!x", "instance_url": "https://acme.my.salesforce.com", "id": "https://login/id/1"}, now=NOW
    )
    assert connection_updates_from_token(salesforce, token) == {"instance_url": "https://acme.my.salesforce.com"}


# --------------------------------------------------------------------------
# Expiry
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_at", "expired"),
    [
        (NOW + 3600, False),
        (NOW + 30, True),  # inside the 60 s buffer
        (NOW - 10, True),
        (str(int(NOW + 3600)), False),
        ((NOW + 3600) * 1000, False),  # milliseconds
        ((NOW + 10) * 1000, True),
        (datetime.fromtimestamp(NOW + 3600, UTC).isoformat(), False),
        (datetime.fromtimestamp(NOW - 1, UTC).isoformat().replace("+00:00", "Z"), True),
        (datetime.fromtimestamp(NOW + 3600, UTC).replace(tzinfo=None).isoformat(), False),  # naive = UTC
        (None, False),
        ("not a time", False),
    ],
)
def test_is_expired_reads_epoch_and_iso_times(expires_at: Any, expired: bool) -> None:
    credentials = {"access_token": "a"} if expires_at is None else {"access_token": "a", "expires_at": expires_at}
    assert is_expired(credentials, now=NOW) is expired


def test_is_expired_buffer_is_adjustable() -> None:
    assert is_expired({"expires_at": NOW + 30}, buffer_seconds=10, now=NOW) is False
    assert is_expired({"expires_at": NOW + 30}, buffer_seconds=0, now=NOW + 31) is True
