"""Errors from APIs, rate limits, and the trace records: never a credential."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from apps.connectors.exceptions import ConnectorCallError, ConnectorTransportError
from apps.connectors.executor import CallTrace, execute_action

SECRET = "sk_live_Zq81xX0pLmN4"


def run(definition: dict[str, Any], action: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    kwargs.setdefault("credentials", {"api_key": SECRET})
    return execute_action(definition, action, params, allow_private=True, **kwargs)


def assert_secret_free(trace: CallTrace, *secrets: str) -> None:
    shown = repr(trace) + json.dumps(trace.as_dict()) + json.dumps(asdict(trace))
    for secret in (SECRET, *secrets):
        assert secret not in shown


def test_a_4xx_raises_with_status_and_redacted_body(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/v2/contacts", method="POST").respond_with_json(
        {"error": {"message": f"key {SECRET} may not create contacts", "code": "forbidden"}}, status=403
    )
    with pytest.raises(ConnectorCallError) as caught:
        run(local_definition(), "createContact", {"name": "Ada"})
    error = caught.value
    assert error.status == 403 and not error.retryable
    assert error.body == {"error": {"message": "key [REDACTED] may not create contacts", "code": "forbidden"}}
    assert "403" in error.message and "may not create contacts" in error.message
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert error.trace is not None and error.trace.status == 403
    assert error.trace.error_code == "connector_call_failed"
    assert_secret_free(error.trace)


def test_a_5xx_text_body_is_redacted_and_truncated(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/v2/contacts/1").respond_with_data(f"boom {SECRET} " + "x" * 10_000, status=500)
    with pytest.raises(ConnectorCallError) as caught:
        run(local_definition(), "getContact", {"id": 1}, retries=0)
    assert caught.value.status == 500 and caught.value.retryable
    assert SECRET not in caught.value.body and len(caught.value.body) < 5000


def test_429_with_retry_after_is_retried_within_the_budget(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_ordered_request("/v2/contacts").respond_with_json(
        {"message": "slow"}, status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request("/v2/contacts").respond_with_json([{"id": 1}])
    started = time.monotonic()
    result = run(local_definition(), "listContacts", deadline=time.monotonic() + 5)
    assert result.data == [{"id": 1}]
    assert result.trace.attempts == 2
    assert time.monotonic() - started >= 0.95


def test_429_gives_up_at_once_when_the_budget_is_too_small(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/v2/contacts").respond_with_json(
        {"message": "later"}, status=429, headers={"Retry-After": "20"}
    )
    started = time.monotonic()
    with pytest.raises(ConnectorCallError) as caught:
        run(local_definition(), "listContacts", deadline=time.monotonic() + 2)
    assert time.monotonic() - started < 0.5
    assert caught.value.status == 429 and caught.value.retryable
    assert caught.value.retry_after == pytest.approx(20)
    assert len(httpserver.log) == 1


def test_errors_inside_a_200_are_errors(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(errors={"ok_path": "ok", "message_path": "error"})
    httpserver.expect_request("/v2/contacts").respond_with_json({"ok": False, "error": "invalid_auth"})
    with pytest.raises(ConnectorCallError) as caught:
        run(definition, "listContacts")
    assert caught.value.status == 200 and "invalid_auth" in caught.value.message

    graphql = local_definition(errors={"error_path": "errors", "message_path": "errors.0.message"})
    httpserver.clear()
    httpserver.expect_request("/v2/contacts").respond_with_json(
        {"data": None, "errors": [{"message": "Field 'x' missing"}]}
    )
    with pytest.raises(ConnectorCallError, match="Field 'x' missing"):
        run(graphql, "listContacts")


def test_transport_failures_carry_a_trace(local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition()
    definition["base_url"] = "http://127.0.0.1:9/v2"  # the discard port: nothing listens
    with pytest.raises(ConnectorTransportError) as caught:
        run(definition, "listContacts", retries=0)
    assert caught.value.reason == "connection_failed" and caught.value.retryable
    assert caught.value.trace is not None and caught.value.trace.status is None
    assert_secret_free(caught.value.trace)


def test_the_trace_of_a_successful_call(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    definition = local_definition(auth={"type": "api_key", "in": "query", "name": "api_key"})
    httpserver.expect_request("/v2/contacts", method="POST").respond_with_json({"id": 9, "echo": SECRET}, status=201)
    result = run(definition, "createContact", {"name": "Ada"})
    trace = result.trace
    assert trace.connector == "acme-crm" and trace.action == "createContact" and trace.method == "POST"
    assert trace.status == 201 and trace.error is None and trace.error_code is None
    assert trace.url.startswith(httpserver.url_for("/v2/contacts")) and "api_key=" in trace.url
    assert trace.request_bytes == len(b'{"name":"Ada"}')
    assert trace.response_bytes > 0 and trace.duration_ms >= 0 and trace.pages == 1 and trace.attempts == 1
    assert trace.started_at.endswith("+00:00")
    assert_secret_free(trace)


@pytest.mark.parametrize(
    ("auth", "credentials"),
    [
        ({"type": "api_key", "in": "header", "name": "X-Api-Key"}, {"api_key": SECRET}),
        ({"type": "api_key", "in": "query", "name": "key"}, {"api_key": SECRET}),
        ({"type": "bearer"}, {"token": SECRET}),
        ({"type": "basic"}, {"username": "ada", "password": SECRET}),
        (
            {"type": "oauth2", "authorization_url": "https://a.example/auth", "token_url": "https://a.example/token"},
            {"access_token": SECRET, "refresh_token": "rt-" + SECRET},
        ),
        ({"type": "custom", "query": {"token": "{{credentials.token}}"}}, {"token": SECRET}),
    ],
)
def test_credentials_never_reach_traces_or_errors(
    httpserver: HTTPServer,
    local_definition,
    auth: dict[str, Any],
    credentials: dict[str, str],  # type: ignore[no-untyped-def]
) -> None:
    definition = local_definition(auth=auth)
    # The API echoes everything it got, as some do in their error bodies.
    httpserver.expect_request("/v2/contacts/1").respond_with_handler(
        lambda request: __import__("werkzeug").Response(
            json.dumps({"message": f"bad {request.full_path} {dict(request.headers)}"}),
            status=401,
            content_type="application/json",
        )
    )
    with pytest.raises(ConnectorCallError) as caught:
        run(definition, "getContact", {"id": 1}, credentials=credentials)
    error = caught.value
    everything = str(error) + repr(error) + json.dumps(error.body) + repr(error.trace)
    assert SECRET not in everything
    assert error.trace is not None
    assert_secret_free(error.trace, *credentials.values())


def test_extra_secrets_are_redacted_too(httpserver: HTTPServer, local_definition) -> None:  # type: ignore[no-untyped-def]
    org_secret = "org-webhook-secret-42"
    httpserver.expect_request("/v2/contacts", method="POST").respond_with_json(
        {"message": f"bad {org_secret}"}, status=400
    )
    with pytest.raises(ConnectorCallError) as caught:
        run(local_definition(), "createContact", {"note": org_secret}, extra_secrets=[org_secret])
    assert org_secret not in str(caught.value) and org_secret not in json.dumps(caught.value.body)
    assert caught.value.trace is not None and org_secret not in repr(caught.value.trace)
