"""apps.core.http.request: deadlines, size cap, retries, redaction, results."""

from __future__ import annotations

import email.utils
import json
import socket
import time
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from apps.core import http

from .conftest import RawServer

StartRaw = Callable[[Callable[[socket.socket], None]], RawServer]


def _local(method: str, url: str, **kwargs: object) -> http.OutboundResponse:
    return http.request(method, url, allow_private=True, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


def test_json_responses_are_parsed_and_measured(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items", method="POST", json={"name": "Ada"}).respond_with_json(
        {"id": 7}, status=201, headers={"X-Request-Id": "r1"}
    )
    response = _local("POST", httpserver.url_for("/items"), json={"name": "Ada"})
    assert response.status == 201 and response.ok
    assert response.json == {"id": 7} and response.is_json
    assert response.headers["x-request-id"] == "r1"
    assert response.request_bytes == len(b'{"name":"Ada"}')
    assert response.response_bytes == len(response.body)
    assert response.elapsed_ms >= 0 and response.attempts == 1
    assert response.trace()["status"] == 201


def test_non_json_responses_keep_their_bytes(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/page").respond_with_data("<h1>hi</h1>", content_type="text/html; charset=utf-8")
    response = _local("GET", httpserver.url_for("/page"))
    assert response.json is None and not response.is_json
    assert response.text == "<h1>hi</h1>"


def test_error_statuses_are_returned_not_raised(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/missing").respond_with_json({"error": "nope"}, status=404)
    response = _local("GET", httpserver.url_for("/missing"))
    assert response.status == 404 and not response.ok and response.json == {"error": "nope"}


def test_query_params_and_form_bodies_are_encoded(httpserver: HTTPServer) -> None:
    def check(request: Request) -> Response:
        assert request.args.getlist("tag") == ["a", "b"]
        assert request.args["flag"] == "true"
        assert "skip" not in request.args
        assert request.form["grant_type"] == "authorization_code"
        return Response("ok")

    httpserver.expect_request("/form", method="POST").respond_with_handler(check)
    response = _local(
        "POST",
        httpserver.url_for("/form") + "?keep=1",
        params={"tag": ["a", "b"], "flag": True, "skip": None},
        form={"grant_type": "authorization_code"},
    )
    assert response.text == "ok"


# --------------------------------------------------------------------------
# Deadlines and timeouts
# --------------------------------------------------------------------------


def test_a_silent_server_times_out_at_the_read_timeout(raw_server: StartRaw) -> None:
    server = raw_server(lambda conn: time.sleep(2))
    started = time.monotonic()
    with pytest.raises(http.OutboundTimeout) as caught:
        _local("GET", server.url(), timeouts=http.Timeouts(connect=1, read=0.3, write=1, total=5))
    assert time.monotonic() - started < 1.5
    assert caught.value.retryable


def test_the_deadline_bounds_a_server_that_drips_bytes(raw_server: StartRaw) -> None:
    def drip(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            conn.sendall(b"x")
            time.sleep(0.1)

    server = raw_server(drip)
    started = time.monotonic()
    with pytest.raises(http.OutboundTimeout):
        # Each read is quick, so only the overall deadline can stop this.
        _local("GET", server.url(), deadline=time.monotonic() + 0.6, timeouts=http.Timeouts(read=5))
    assert time.monotonic() - started < 1.2


def test_a_deadline_already_past_sends_nothing(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("x")
    with pytest.raises(http.OutboundTimeout):
        _local("GET", httpserver.url_for("/"), deadline=time.monotonic() - 1)
    assert httpserver.log == []


def test_connection_refused_is_a_retryable_connection_failure() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(http.ConnectionFailed) as caught:
        _local("GET", f"http://127.0.0.1:{port}/")
    assert caught.value.retryable


# --------------------------------------------------------------------------
# Size cap
# --------------------------------------------------------------------------


def test_a_declared_oversized_body_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    with pytest.raises(http.ResponseTooLarge) as caught:
        _local("GET", httpserver.url_for("/big"), max_response_bytes=1000)
    assert "1000" in str(caught.value)
    assert not caught.value.retryable


def test_an_undeclared_oversized_body_stops_at_the_cap(raw_server: StartRaw) -> None:
    def endless(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"y" * 4096
        try:
            for _ in range(10_000):  # 40 MB if nobody stops reading
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass

    server = raw_server(endless)
    with pytest.raises(http.ResponseTooLarge, match="reading stopped"):
        _local("GET", server.url(), max_response_bytes=64 * 1024)


def test_a_body_at_the_cap_is_fine(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/exact").respond_with_data(b"z" * 1000)
    assert len(_local("GET", httpserver.url_for("/exact"), max_response_bytes=1000).body) == 1000


# --------------------------------------------------------------------------
# Retries
# --------------------------------------------------------------------------


def test_429_with_retry_after_seconds_is_retried_within_the_budget(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/limited").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request("/limited").respond_with_json({"ok": True})
    started = time.monotonic()
    response = _local("GET", httpserver.url_for("/limited"), retries=2, deadline=time.monotonic() + 5)
    assert response.status == 200 and response.attempts == 2
    assert time.monotonic() - started >= 0.95


def test_429_with_retry_after_as_http_date_is_honoured(httpserver: HTTPServer) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    httpserver.expect_ordered_request("/dated").respond_with_data("", status=429, headers={"Retry-After": when})
    httpserver.expect_ordered_request("/dated").respond_with_data("done")
    started = time.monotonic()
    response = _local("GET", httpserver.url_for("/dated"), retries=1, deadline=time.monotonic() + 6)
    assert response.text == "done"
    assert time.monotonic() - started >= 0.9


def test_retry_after_beyond_the_budget_returns_the_429_at_once(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/later").respond_with_data("", status=429, headers={"Retry-After": "30"})
    started = time.monotonic()
    response = _local("GET", httpserver.url_for("/later"), retries=3, deadline=time.monotonic() + 2)
    assert response.status == 429 and response.retry_after == pytest.approx(30)
    assert response.attempts == 1
    assert time.monotonic() - started < 0.5


def test_5xx_is_retried_for_idempotent_methods_only(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/flaky").respond_with_data("", status=503)
    get = _local("GET", httpserver.url_for("/flaky"), retries=2, backoff_base=0.01)
    assert get.status == 503 and get.attempts == 3
    post = _local("POST", httpserver.url_for("/flaky"), json={}, retries=2, backoff_base=0.01)
    assert post.attempts == 1
    asked = _local(
        "POST", httpserver.url_for("/flaky"), json={}, retries=2, backoff_base=0.01, retry_non_idempotent=True
    )
    assert asked.attempts == 3


def test_429_is_retried_even_for_post(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/create", method="POST").respond_with_data(
        "", status=429, headers={"Retry-After": "0"}
    )
    httpserver.expect_ordered_request("/create", method="POST").respond_with_json({"id": 1}, status=201)
    assert _local("POST", httpserver.url_for("/create"), json={"a": 1}, retries=1).status == 201


def test_timeouts_are_retried_for_get_within_the_deadline(raw_server: StartRaw) -> None:
    calls: list[int] = []

    def first_silent_then_ok(conn: socket.socket) -> None:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(1)
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    server = raw_server(first_silent_then_ok)
    response = _local("GET", server.url(), retries=1, backoff_base=0.01, timeouts=http.Timeouts(read=0.3, total=5))
    assert response.text == "ok" and response.attempts == 2


def test_retries_are_bounded() -> None:
    with pytest.raises(http.InvalidRequest):
        http.request("GET", "http://example.com/", retries=http.MAX_RETRIES + 1)
    with pytest.raises(http.InvalidRequest):
        http.request("GET", "http://example.com/", max_redirects=http.MAX_REDIRECTS + 1)


def test_retry_after_parsing() -> None:
    assert http.parse_retry_after("5") == 5
    assert http.parse_retry_after("-3") == 0
    assert http.parse_retry_after("soon") is None
    assert http.parse_retry_after(None) is None
    now = time.time()
    assert http.parse_retry_after(email.utils.formatdate(now + 60, usegmt=True), now=now) == pytest.approx(60, abs=1)


# --------------------------------------------------------------------------
# Redaction
# --------------------------------------------------------------------------

SECRET = "sk_live_9f8e7d6c5b4a"


def test_redact_hides_secrets_in_every_encoding() -> None:
    secret = "p@ss/word+x"
    text = (
        f"raw {secret} url {secret.replace('@', '%40').replace('/', '%2F').replace('+', '%2B')} form p%40ss%2Fword%2Bx"
    )
    assert secret not in http.redact(text, [secret])
    assert "%2F" not in http.redact(text, [secret])
    assert http.redact("nothing here", [secret]) == "nothing here"


def test_redact_url_removes_credentials_from_query_and_user_info() -> None:
    url = "https://user:pw12345@api.example.com/v1/items?api_key=abcdef123&page=2&token=zzz999&custom=s3cr3tvalue"
    shown = http.redact_url(url, secrets=["s3cr3tvalue"])
    assert "abcdef123" not in shown and "zzz999" not in shown and "pw12345" not in shown and "s3cr3tvalue" not in shown
    assert "page=2" in shown and "api.example.com/v1/items" in shown
    extra = http.redact_url("https://x.test/?sig=1&q=visible", sensitive_query_keys=["q"])
    assert "sig=1" not in extra and "visible" not in extra


def test_reported_urls_and_errors_never_contain_secrets(httpserver: HTTPServer, raw_server: StartRaw) -> None:
    httpserver.expect_request("/data").respond_with_json({"ok": True})
    url = httpserver.url_for("/data") + f"?key={SECRET}&mine=x"
    response = _local("GET", url, secrets=[SECRET])
    assert SECRET not in response.url and SECRET not in json.dumps(response.trace())

    server = raw_server(lambda conn: time.sleep(1))
    with pytest.raises(http.OutboundTimeout) as caught:
        _local(
            "GET",
            server.url(f"/p/{SECRET}"),
            params={"auth_value": SECRET},
            secrets=[SECRET],
            timeouts=http.Timeouts(read=0.2, total=2),
        )
    assert SECRET not in str(caught.value) and SECRET not in (caught.value.url or "")
    with pytest.raises(http.BlockedDestination) as blocked:
        http.request("GET", httpserver.url_for(f"/{SECRET}"), secrets=[SECRET])
    assert SECRET not in str(blocked.value)


def test_redactor_extend_adds_secrets() -> None:
    base = http.Redactor(["first-secret"])
    both = base.extend(["second-secret"])
    assert both.redact("first-secret second-secret") == "[REDACTED] [REDACTED]"
    assert base.redact("second-secret") == "second-secret"
