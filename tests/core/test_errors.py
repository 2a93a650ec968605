"""Every API error is JSON in API.md's shape, with the right status."""

import pytest

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_malformed_json_is_400_malformed_json(api, org_a):
    response = api(org_a).post("/api/v1/customers", raw=b'{"external_id": "x",')
    assert_error(response, 400, "malformed_json")


def test_body_that_is_not_an_object_is_400(api, org_a):
    response = api(org_a).post("/api/v1/customers", raw=b'["a", "b"]')
    assert_error(response, 400, "invalid_body")


def test_missing_field_is_named(api, org_a):
    error = assert_error(api(org_a).post("/api/v1/customers", {"name": "No id"}), 400, "invalid_input")
    assert "external_id" in error["message"]
    assert "external_id" in error["details"]["fields"]


def test_wrong_type_is_named(api, org_a):
    error = assert_error(api(org_a).post("/api/v1/customers", {"external_id": 42, "name": "X"}), 400)
    assert error["details"]["fields"] == {"external_id": ["Must be a string."]}


def test_unknown_field_is_named(api, org_a):
    error = assert_error(api(org_a).post("/api/v1/customers", {"external_id": "a", "name": "b", "nmae": 1}), 400)
    assert error["details"]["fields"] == {"nmae": ["Unknown field."]}


def test_unknown_api_route_is_json_404(api, org_a, client):
    assert_error(api(org_a).get("/api/v1/no-such-thing"), 404, "not_found")
    assert_error(client.get("/api/v2/anything"), 404, "not_found")
    assert_error(client.put("/api/nope", data="{}", content_type="application/json"), 404, "not_found")


def test_wrong_method_is_json_405(api, org_a, client):
    assert_error(client.delete("/api/v1/health"), 405, "method_not_allowed")
    assert_error(api(org_a).put("/api/v1/customers", {}), 405, "method_not_allowed")


def test_body_over_the_limit_is_413_before_it_is_read(api, org_a, settings):
    settings.FASTN_MAX_BODY_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = b'{"external_id": "big", "name": "' + b"x" * 2000 + b'"}'
    error = assert_error(api(org_a).post("/api/v1/customers", raw=payload), 413, "payload_too_large")
    assert error["details"]["limit_bytes"] == 1000


def test_error_for_unauthenticated_call_explains_the_headers(client):
    error = assert_error(client.get("/api/v1/secrets"), 401, "not_authenticated")
    assert "x-fastn-access-key" in error["message"]


def test_dashboard_404_is_html(client):
    response = client.get("/definitely/not/here")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
