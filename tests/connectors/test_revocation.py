"""Revoking a connection's token at the provider, as the connector's
`auth.revocation` says, against a loopback server playing each provider.

The catalogue's own revocation blocks are used (with the provider's host
swapped for the test server), so each test also pins what the catalogue
sends to that provider."""

from __future__ import annotations

import base64
import copy
import json
import time
from urllib.parse import parse_qs

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from apps.connectors.catalog import get_connector
from apps.connectors.definition import normalize_definition, validate_definition
from apps.connectors.exceptions import OAuthError
from apps.connectors.oauth import revocation_token, revoke_token

SECRET = "client-secret-REV123"
TOKENS = {"access_token": "at-live-4242", "refresh_token": "rt-live-4242"}


def catalogue(slug: str, server: HTTPServer, host: str) -> dict:
    definition = get_connector(slug)
    assert definition is not None
    revocation = definition["auth"]["revocation"]
    revocation["url"] = revocation["url"].replace(host, server.url_for("").rstrip("/"))
    return definition


def capture(server: HTTPServer, path: str, method: str, answer: Response | None = None) -> list[Request]:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        request.get_data()
        seen.append(request)
        return answer or Response("", status=200)

    server.expect_request(path, method=method).respond_with_handler(handler)
    return seen


def revoke(definition, credentials=TOKENS, config=None, **kwargs):
    return revoke_token(
        definition,
        client_id="client-1",
        client_secret=SECRET,
        credentials=credentials,
        connection_config=config,
        deadline=time.monotonic() + 5,
        allow_private=True,
        **kwargs,
    )


def rfc7009(slug: str, url: str) -> dict:
    """A catalogue connector whose revocation is only a revoke_url (RFC 7009)."""
    definition = get_connector(slug)
    definition["auth"]["revoke_url"] = url
    definition["auth"].pop("revocation", None)
    return definition


def answer(body: dict) -> Response:
    return Response(json.dumps(body), status=200, mimetype="application/json")


def basic(request: Request) -> str:
    return base64.b64decode(request.headers["Authorization"].split(" ", 1)[1]).decode()


def test_rfc_7009_is_what_revoke_url_alone_means(httpserver):
    definition = rfc7009("box", httpserver.url_for("/oauth2/revoke"))
    seen = capture(httpserver, "/oauth2/revoke", "POST")
    assert revoke(definition) is True
    form = parse_qs(seen[0].get_data(as_text=True))
    assert form == {
        "token": ["rt-live-4242"],
        "token_type_hint": ["refresh_token"],
        "client_id": ["client-1"],
        "client_secret": [SECRET],
    }


def test_without_a_refresh_token_the_access_token_is_revoked(httpserver):
    definition = rfc7009("gmail", httpserver.url_for("/revoke"))
    seen = capture(httpserver, "/revoke", "POST")
    assert revoke(definition, credentials={"access_token": "at-only"}) is True
    assert parse_qs(seen[0].get_data(as_text=True))["token_type_hint"] == ["access_token"]


def test_github_deletes_the_grant_as_the_client(httpserver):
    definition = catalogue("github", httpserver, "https://api.github.com")
    seen = capture(httpserver, "/applications/client-1/grant", "DELETE", Response("", status=204))
    assert revoke(definition) is True
    assert basic(seen[0]) == f"client-1:{SECRET}"
    assert json.loads(seen[0].get_data()) == {"access_token": "at-live-4242"}


def test_slack_revokes_with_the_token_itself_and_its_ok_false_is_a_failure(httpserver):
    definition = catalogue("slack", httpserver, "https://slack.com")
    seen = capture(httpserver, "/api/auth.revoke", "POST", answer({"ok": True, "revoked": True}))
    assert revoke(definition) is True
    assert seen[0].headers["Authorization"] == "Bearer at-live-4242"
    assert seen[0].get_data() == b""
    httpserver.clear()
    capture(httpserver, "/api/auth.revoke", "POST", answer({"ok": False, "error": "invalid_auth"}))
    with pytest.raises(OAuthError) as failure:
        revoke(definition)
    assert failure.value.error_code == "invalid_auth"


def test_hubspot_puts_the_refresh_token_in_the_path(httpserver):
    definition = catalogue("hubspot", httpserver, "https://api.hubapi.com")
    seen = capture(httpserver, "/oauth/v1/refresh-tokens/rt-live-4242", "DELETE", Response("", status=204))
    assert revoke(definition) is True
    assert "Authorization" not in seen[0].headers and seen[0].get_data() == b""


def test_shopify_uninstalls_with_its_own_token_header(httpserver):
    definition = catalogue("shopify", httpserver, "https://{{connection.shop}}.myshopify.com")
    seen = capture(httpserver, "/admin/api_permissions/current.json", "DELETE")
    assert revoke(definition, credentials={"access_token": "shpat_1"}, config={"shop": "acme"}) is True
    assert seen[0].headers["X-Shopify-Access-Token"] == "shpat_1"


def test_quickbooks_sends_json_with_basic_client_authentication(httpserver):
    definition = catalogue("quickbooks", httpserver, "https://developer.api.intuit.com")
    seen = capture(httpserver, "/v2/oauth2/tokens/revoke", "POST")
    assert revoke(definition) is True
    assert json.loads(seen[0].get_data()) == {"token": "rt-live-4242"}
    assert basic(seen[0]) == f"client-1:{SECRET}"


def test_zoho_sends_the_token_in_the_query_string(httpserver):
    definition = catalogue("zoho-crm", httpserver, "https://accounts.zoho.{{connection.region}}")
    seen = capture(httpserver, "/oauth/v2/token/revoke", "POST")
    assert revoke(definition, config={"region": "eu"}) is True
    assert seen[0].args.to_dict() == {"token": "rt-live-4242"}


@pytest.mark.parametrize(
    "status, body, code",
    [
        (400, {"error": "invalid_client", "error_description": "bad client rt-live-4242"}, "invalid_client"),
        (401, {}, "invalid_request"),
        (503, {}, "temporarily_unavailable"),
        (500, {"error": "boom"}, "server_error"),
    ],
)
def test_refusals_and_failures_are_oauth_errors_without_the_token(httpserver, status, body, code):
    definition = rfc7009("box", httpserver.url_for("/revoke"))
    httpserver.expect_request("/revoke").respond_with_json(body, status=status)
    with pytest.raises(OAuthError) as failure:
        revoke(definition)
    assert failure.value.error_code == code
    assert "rt-live-4242" not in str(failure.value) and SECRET not in str(failure.value)


def test_an_unreachable_provider_is_a_retryable_failure():
    definition = rfc7009("box", "http://127.0.0.1:9/revoke")
    with pytest.raises(OAuthError) as failure:
        revoke(definition)
    assert failure.value.retryable or failure.value.error_code in ("connection_failed", "outbound_timeout")


def test_connectors_without_revocation_do_nothing():
    definition = get_connector("airtable")
    assert revocation_token(definition, TOKENS) is None
    assert revoke(definition) is False
    assert revoke(get_connector("box"), credentials={}) is False


def test_the_catalogue_defines_revocation_where_the_provider_documents_one():
    with_revocation = {
        slug
        for slug in (
            "asana box calendly dropbox github gmail google-calendar google-sheets hubspot intercom linear "
            "quickbooks salesforce shopify slack xero zendesk zoho-crm"
        ).split()
        if normalize_definition(get_connector(slug))["auth"].get("revocation")
    }
    assert len(with_revocation) == 18


@pytest.mark.parametrize(
    "revocation, where",
    [
        ({"method": "POST"}, "$.auth.revocation"),
        ({"url": "ftp://x.example/revoke"}, "$.auth.revocation.url"),
        ({"url": "https://x.example/r", "method": "PATCH"}, "$.auth.revocation.method"),
        ({"url": "https://x.example/r", "body": "xml"}, "$.auth.revocation.body"),
        ({"url": "https://x.example/r", "auth": "magic"}, "$.auth.revocation.auth"),
        ({"url": "https://x.example/r", "token": "id_token"}, "$.auth.revocation.token"),
        ({"url": "https://x.example/r", "surprise": 1}, "$.auth.revocation"),
        ({"url": "https://x.example/r/{{params.other}}"}, "$.auth.revocation.url"),
        ({"url": "https://x.example/r/{{credentials.access_token}}"}, "$.auth.revocation.url"),
        ({"url": "https://{{connection.nowhere}}.x.example/r"}, "$.auth.revocation.url"),
    ],
)
def test_invalid_revocation_blocks_are_refused_with_their_path(revocation, where):
    definition = copy.deepcopy(get_connector("box"))
    definition["auth"]["revocation"] = revocation
    problems = validate_definition(definition)
    assert any(p.path.startswith(where) for p in problems), problems
