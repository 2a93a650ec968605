"""How an action call becomes an HTTP request: auth, placeholders, params, templates."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from apps.connectors.exceptions import ConnectionConfigError, InvalidParams, UnknownAction
from apps.connectors.executor import build_request, execute_action


def call(definition: dict[str, Any], action: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return execute_action(definition, action, params, allow_private=True, **kwargs)


def echo(request: Request) -> Response:
    """Answer with what arrived, so tests can look at the request."""
    body = request.get_data(as_text=True)
    return Response(
        json.dumps(
            {
                "path": request.environ.get("RAW_URI") or request.full_path,
                "args": {k: request.args.getlist(k) for k in request.args},
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "json": request.get_json(silent=True),
                "form": {k: request.form.getlist(k) for k in request.form} if request.form else None,
                "body": body,
            }
        ),
        content_type="application/json",
    )


# --------------------------------------------------------------------------
# Auth types
# --------------------------------------------------------------------------


def test_api_key_in_a_header(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/v2/contacts", headers={"X-Api-Key": "key-abc123"}).respond_with_json([{"id": 1}])
    result = call(local_definition(), "listContacts", credentials={"api_key": "key-abc123"})
    assert result.data == [{"id": 1}] and result.status == 200


def test_api_key_in_the_query_with_prefix(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(auth={"type": "api_key", "in": "query", "name": "apikey"})
    httpserver.expect_request("/v2/contacts", query_string={"apikey": "key-abc123"}).respond_with_json([])
    assert call(definition, "listContacts", credentials={"api_key": "key-abc123"}).status == 200
    prefixed = local_definition(auth={"type": "api_key", "in": "header", "name": "Authorization", "prefix": "Token"})
    httpserver.expect_request("/v2/contacts", headers={"Authorization": "Token key-abc123"}).respond_with_json([])
    assert call(prefixed, "listContacts", credentials={"api_key": "key-abc123"}).status == 200


def test_bearer_token(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(auth={"type": "bearer"})
    httpserver.expect_request("/v2/contacts", headers={"Authorization": "Bearer tok-987654"}).respond_with_json([])
    assert call(definition, "listContacts", credentials={"token": "tok-987654"}).status == 200


def test_bearer_with_another_prefix(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(auth={"type": "bearer", "prefix": "Bot"})
    httpserver.expect_request("/v2/contacts", headers={"Authorization": "Bot tok-987654"}).respond_with_json([])
    assert call(definition, "listContacts", credentials={"token": "tok-987654"}).status == 200


def test_basic_auth(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(auth={"type": "basic"})
    expected = "Basic " + base64.b64encode(b"ada:pw-secret-1").decode()
    httpserver.expect_request("/v2/contacts", headers={"Authorization": expected}).respond_with_json([])
    assert call(definition, "listContacts", credentials={"username": "ada", "password": "pw-secret-1"}).status == 200


def test_basic_auth_from_templates(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(auth={"type": "basic", "username": "{{credentials.api_key}}", "password": "X"})
    expected = "Basic " + base64.b64encode(b"fd-key-123:X").decode()
    httpserver.expect_request("/v2/contacts", headers={"Authorization": expected}).respond_with_json([])
    assert call(definition, "listContacts", credentials={"api_key": "fd-key-123"}).status == 200


def test_oauth2_access_token_as_bearer(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(
        auth={"type": "oauth2", "authorization_url": "https://a.example/auth", "token_url": "https://a.example/token"}
    )
    httpserver.expect_request("/v2/contacts", headers={"Authorization": "Bearer ya29.access"}).respond_with_json([])
    credentials = {"access_token": "ya29.access", "refresh_token": "1//refresh", "expires_at": 4102444800}
    assert call(definition, "listContacts", credentials=credentials).status == 200


def test_oauth2_with_a_custom_token_header(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(
        auth={
            "type": "oauth2",
            "authorization_url": "https://a.example/auth",
            "token_url": "https://a.example/token",
            "token_header": "X-Shopify-Access-Token",
            "token_prefix": "",
        }
    )
    httpserver.expect_request("/v2/contacts", headers={"X-Shopify-Access-Token": "shpat_1234"}).respond_with_json([])
    assert call(definition, "listContacts", credentials={"access_token": "shpat_1234"}).status == 200


def test_custom_auth_headers_and_query(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(
        auth={
            "type": "custom",
            "headers": {"api-auth-accountid": "{{credentials.account_id}}"},
            "query": {"token": "{{credentials.token}}"},
        }
    )
    httpserver.expect_request(
        "/v2/contacts", headers={"api-auth-accountid": "acc-42"}, query_string={"token": "t-999999"}
    ).respond_with_json([])
    assert call(definition, "listContacts", credentials={"account_id": "acc-42", "token": "t-999999"}).status == 200


def test_a_missing_credential_is_named_without_its_value(local_definition) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConnectionConfigError) as caught:
        call(local_definition(), "listContacts", credentials={"token": "wrong-kind"})
    assert caught.value.field == "credentials.api_key"
    assert "wrong-kind" not in str(caught.value)
    assert caught.value.trace is not None and caught.value.trace.error_code == "connection_misconfigured"


def test_no_auth(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/v2/contacts").respond_with_handler(echo)
    result = call(local_definition(auth={"type": "none"}), "listContacts")
    assert "authorization" not in result.data["headers"]


# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------


def test_path_placeholders_are_filled_and_encoded_and_the_rest_goes_to_the_query(
    httpserver: HTTPServer,
    local_definition,  # type: ignore[no-untyped-def]
) -> None:
    httpserver.expect_request("/v2/contacts/a b/c?d").respond_with_handler(echo)
    result = call(
        local_definition(), "getContact", {"id": "a b/c?d", "fields": "email"}, credentials={"api_key": "k-123456"}
    )
    assert result.data["path"].startswith("/v2/contacts/a%20b%2Fc%3Fd?")
    assert result.data["args"] == {"fields": ["email"]}


def test_numeric_path_values_and_repeated_query_values(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/v2/contacts/7").respond_with_handler(echo)
    result = call(
        local_definition(),
        "getContact",
        {"id": 7, "tag": ["a", "b"], "active": True},
        credentials={"api_key": "k-123456"},
    )
    assert result.data["args"] == {"tag": ["a", "b"], "active": ["true"]}


def test_plus_placeholders_keep_slashes_but_refuse_dot_segments(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(actions={"getFile": {"method": "GET", "path": "/files/{+path}"}})
    httpserver.expect_request("/v2/files/docs/read me.md").respond_with_handler(echo)
    result = call(definition, "getFile", {"path": "docs/read me.md"}, credentials={"api_key": "k-123456"})
    assert result.data["path"] == "/v2/files/docs/read%20me.md"
    with pytest.raises(InvalidParams):
        build_request(definition, "getFile", {"path": "../admin"}, credentials={"api_key": "k-123456"})


def test_dot_segments_cannot_walk_up_the_path(local_definition) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParams) as caught:
        build_request(local_definition(), "getContact", {"id": ".."}, credentials={"api_key": "k-123456"})
    assert caught.value.field == "id"


def test_a_missing_path_parameter_is_named(local_definition) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParams) as caught:
        call(local_definition(), "getContact", {}, credentials={"api_key": "k-123456"})
    assert caught.value.field == "id"
    assert caught.value.trace is not None and caught.value.trace.status is None


def test_post_params_become_the_json_body(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/v2/contacts", method="POST").respond_with_handler(echo)
    result = call(
        local_definition(), "createContact", {"name": "Ada", "tags": ["vip"]}, credentials={"api_key": "k-123456"}
    )
    assert result.data["json"] == {"name": "Ada", "tags": ["vip"]}
    assert result.data["args"] == {}
    assert result.data["headers"]["content-type"] == "application/json"


def test_post_without_params_sends_no_body(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/v2/contacts", method="POST").respond_with_handler(echo)
    result = call(local_definition(), "createContact", {}, credentials={"api_key": "k-123456"})
    assert result.data["body"] == "" and "content-type" not in result.data["headers"]


def test_control_params_are_never_sent(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/v2/contacts").respond_with_handler(echo)
    result = call(
        local_definition(),
        "listContacts",
        {"_paginate": False, "_trace_note": "x", "q": "a"},
        credentials={"api_key": "k-123456"},
    )
    assert result.data["args"] == {"q": ["a"]}


def test_templates_place_params_and_keep_types(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(
        headers={"X-Client": "fastn"},
        actions={
            "appendRows": {
                "method": "POST",
                "path": "/sheets/{sheetId}/values:append",
                "query": {"valueInputOption": "{{params.mode}}", "unused": "{{params.nothing}}"},
                "headers": {"X-Request-Id": "{{params.requestId}}"},
                "body": {
                    "values": "{{params.rows}}",
                    "meta": {"count": "{{params.count}}", "label": "rows: {{params.count}}"},
                },
                "input_schema": {
                    "type": "object",
                    "properties": {"mode": {"type": "string", "default": "USER_ENTERED"}, "count": {"type": "integer"}},
                },
            }
        },
    )
    httpserver.expect_request("/v2/sheets/S1/values:append", method="POST").respond_with_handler(echo)
    result = call(
        definition,
        "appendRows",
        {"sheetId": "S1", "rows": [[1, "a"]], "count": 1, "requestId": "req-1", "extra": "dropped"},
        credentials={"api_key": "k-123456"},
    )
    assert result.data["args"] == {"valueInputOption": ["USER_ENTERED"]}  # the input_schema default
    assert result.data["headers"]["x-request-id"] == "req-1"
    assert result.data["headers"]["x-client"] == "fastn"
    assert result.data["json"] == {"values": [[1, "a"]], "meta": {"count": 1, "label": "rows: 1"}}


def test_form_content_type_flattens_nested_values(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(actions={"create": {"method": "POST", "path": "/customers", "content_type": "form"}})
    httpserver.expect_request("/v2/customers", method="POST").respond_with_handler(echo)
    result = call(
        definition,
        "create",
        {"email": "a@b.co", "metadata": {"plan": "pro"}, "expand": ["x", "y"]},
        credentials={"api_key": "k-123456"},
    )
    assert result.data["form"] == {"email": ["a@b.co"], "metadata[plan]": ["pro"], "expand": ["x", "y"]}


def test_input_schema_is_enforced_naming_the_field(local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(
        actions={
            "create": {
                "method": "POST",
                "path": "/contacts",
                "input_schema": {
                    "type": "object",
                    "properties": {"email": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
                    "required": ["email"],
                },
            }
        }
    )
    with pytest.raises(InvalidParams) as missing:
        build_request(definition, "create", {"age": 3}, credentials={"api_key": "k-123456"})
    assert missing.value.field == "$.email"
    with pytest.raises(InvalidParams) as wrong:
        build_request(definition, "create", {"email": "a@b.co", "age": -1}, credentials={"api_key": "k-123456"})
    assert wrong.value.field == "$.age"


def test_header_injection_is_refused(local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(
        actions={"a": {"method": "GET", "path": "/x", "headers": {"X-Note": "{{params.note}}"}}}
    )
    with pytest.raises(InvalidParams):
        build_request(definition, "a", {"note": "hi\r\nX-Admin: 1"}, credentials={"api_key": "k-123456"})


def test_an_unknown_action_is_an_error(local_definition) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownAction):
        call(local_definition(), "deleteEverything", credentials={"api_key": "k-123456"})


# --------------------------------------------------------------------------
# Connection settings in URLs
# --------------------------------------------------------------------------

SHOP = {
    "slug": "shop-like",
    "name": "Shop-like",
    "base_url": "https://{{connection.shop}}.myshopify.example/admin/{{connection.version}}",
    "connection_config": {
        "type": "object",
        "properties": {"shop": {"type": "string"}, "version": {"type": "string", "default": "2025-07"}},
        "required": ["shop"],
    },
    "auth": {"type": "none"},
    "actions": {"getShop": {"method": "GET", "path": "/shop.json"}},
}


def test_connection_settings_fill_the_host_and_path() -> None:
    request = build_request(SHOP, "getShop", connection_config={"shop": "acme"})
    assert request.url == "https://acme.myshopify.example/admin/2025-07/shop.json"


@pytest.mark.parametrize("shop", ["evil.com/x?", "evil.com#", "a@evil.com", "", "-bad-", "a b"])
def test_a_connection_setting_cannot_move_the_request_to_another_host(shop: str) -> None:
    with pytest.raises(ConnectionConfigError) as caught:
        build_request(SHOP, "getShop", connection_config={"shop": shop})
    assert caught.value.field == "shop"


def test_a_missing_connection_setting_is_named() -> None:
    with pytest.raises(ConnectionConfigError) as caught:
        build_request(SHOP, "getShop", connection_config={})
    assert caught.value.field == "shop"


def test_a_whole_origin_setting_must_be_an_http_origin() -> None:
    definition = {
        "slug": "sf-like",
        "name": "SF-like",
        "base_url": "{{connection.instance_url}}/services/data/v62.0",
        "connection_config": {"type": "object", "properties": {"instance_url": {"type": "string"}}},
        "actions": {"limits": {"method": "GET", "path": "/limits"}},
    }
    ok = build_request(definition, "limits", connection_config={"instance_url": "https://acme.my.salesforce.com/"})
    assert ok.url == "https://acme.my.salesforce.com/services/data/v62.0/limits"
    for bad in ("javascript:alert(1)", "https://user:pw@x.example", "https://x.example/?q=1", "acme.example"):
        with pytest.raises(ConnectionConfigError):
            build_request(definition, "limits", connection_config={"instance_url": bad})


def test_connection_urls_are_still_guarded_when_sent(local_definition) -> None:  # type: ignore[no-untyped-def]
    from apps.connectors.exceptions import ConnectorTransportError

    definition = dict(SHOP, base_url="http://{{connection.shop}}/admin")
    with pytest.raises(ConnectorTransportError) as caught:
        execute_action(definition, "getShop", connection_config={"shop": "169.254.169.254"})
    assert caught.value.reason == "blocked_destination" and not caught.value.retryable
