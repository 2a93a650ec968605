"""/api/v1/alerts: the contract, bad input naming the field, other organizations, test-send, mute."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

RULE = {
    "name": "Sync failing",
    "metric": "error_rate",
    "scope": {"workflow": "sync"},
    "window_seconds": 300,
    "operator": ">",
    "threshold": 5,
    "channels": [{"type": "email", "to": "ops@example.com"}],
}


@pytest.fixture
def client(api, org_a, db):
    return api(org_a)


def test_create_answers_201_with_state_ok_and_the_signing_secret_once(client):
    response = client.post("/api/v1/alerts", RULE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "ok" and body["signing_secret"].startswith("whsec_")
    assert body["scope"] == {"workflow": "sync"} and body["resolve_threshold"] == 4.5
    shown = client.get(f"/api/v1/alerts/{body['id']}").json()
    assert "signing_secret" not in shown
    listed = client.get("/api/v1/alerts").json()
    assert [r["id"] for r in listed["results"]] == [body["id"]] and listed["has_more"] is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metric": "latency_p50"}, "metric"),
        ({"operator": "=="}, "operator"),
        ({"threshold": "high"}, "threshold"),
        ({"threshold": 150}, "threshold"),  # error rate is a percentage
        ({"window_seconds": 10}, "window_seconds"),
        ({"window_seconds": "300"}, "window_seconds"),
        ({"scope": {"team": "x"}}, "scope.team"),
        ({"scope": "sync"}, "scope"),
        ({"scope": {"connector": "hubspot", "environment": "production"}}, "scope.environment"),
        ({"channels": [{"type": "pager"}]}, "channels.0.type"),
        ({"channels": [{"type": "webhook", "url": "ftp://x"}]}, "channels.0.url"),
        ({"channels": [{"type": "email", "to": "not-an-address"}]}, "channels.0.to"),
        ({"channels": [{"type": "slack", "connection": "nope", "channel": "#a"}]}, "channels.0.connection"),
        ({"resolve_threshold": 9}, "resolve_threshold"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_fields_are_400_naming_the_field(client, change, field):
    response = client.post("/api/v1/alerts", {**RULE, **change})
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]["fields"]


def test_missing_fields_malformed_json_and_a_list_body(client):
    body = {k: v for k, v in RULE.items() if k != "threshold"}
    response = client.post("/api/v1/alerts", body)
    assert response.status_code == 400 and "threshold" in response.json()["error"]["details"]["fields"]
    response = client.post("/api/v1/alerts", raw="{not json")
    assert response.status_code == 400 and response.json()["error"]["code"]
    assert client.post("/api/v1/alerts", raw=json.dumps([RULE])).status_code == 400
    assert client.post("/api/v1/alerts", raw="x" * (11 * 1024 * 1024)).status_code == 413


def test_another_organizations_rule_is_404_and_ids_are_checked(client, api, org_b):
    rule_id = client.post("/api/v1/alerts", RULE).json()["id"]
    other = api(org_b)
    for path in (f"/api/v1/alerts/{rule_id}", f"/api/v1/alerts/{rule_id}/events"):
        assert other.get(path).status_code == 404
    assert other.patch(f"/api/v1/alerts/{rule_id}", {"name": "x"}).status_code == 404
    assert other.delete(f"/api/v1/alerts/{rule_id}").status_code == 404
    assert client.get("/api/v1/alerts/not-a-uuid").status_code == 404


def test_patch_mute_and_delete(client):
    rule_id = client.post("/api/v1/alerts", RULE).json()["id"]
    patched = client.patch(f"/api/v1/alerts/{rule_id}", {"threshold": 10, "resolve_after": 3})
    assert patched.status_code == 200 and patched.json()["threshold"] == 10 and patched.json()["resolve_after"] == 3
    assert client.patch(f"/api/v1/alerts/{rule_id}", {"enabled": "yes"}).status_code == 400
    muted = client.post(f"/api/v1/alerts/{rule_id}/mute", {"seconds": 3600})
    assert muted.status_code == 200 and muted.json()["muted_until"]
    assert client.post(f"/api/v1/alerts/{rule_id}/mute", {"seconds": -1}).status_code == 400
    assert client.post(f"/api/v1/alerts/{rule_id}/mute", {}).status_code == 400
    assert client.post(f"/api/v1/alerts/{rule_id}/mute", {"seconds": 0}).json()["muted_until"] is None
    assert client.delete(f"/api/v1/alerts/{rule_id}").status_code == 204
    assert client.get(f"/api/v1/alerts/{rule_id}").status_code == 404


def test_a_viewer_key_reads_but_cannot_create(api, org_a, role_key, db):
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    assert viewer.get("/api/v1/alerts").status_code == 200
    assert viewer.post("/api/v1/alerts", RULE).status_code == 403


@override_settings(FASTN_ALLOW_PRIVATE_NETWORK=True)
def test_test_send_reaches_a_webhook_signed_and_an_email(client, httpserver, mailoutbox):
    from apps.connectors.signatures import verify_signature

    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    created = client.post(
        "/api/v1/alerts",
        {
            **RULE,
            "channels": [
                {"type": "webhook", "url": httpserver.url_for("/hook")},
                {"type": "email", "to": ["a@x.test"]},
            ],
        },
    ).json()
    response = client.post(f"/api/v1/alerts/{created['id']}/test")
    assert response.status_code == 200, response.content
    deliveries = response.json()["deliveries"]
    assert [(d["type"], d["ok"]) for d in deliveries] == [("webhook", True), ("email", True)]
    request, _ = httpserver.log[0]
    scheme = {"scheme": "stripe", "header": "x-fastn-signature"}
    verify_signature(scheme, created["signing_secret"], dict(request.headers), request.get_data())
    assert json.loads(request.get_data())["state"] == "test"
    assert len(mailoutbox) == 1 and "Sync failing" in mailoutbox[0].subject
    events = client.get(f"/api/v1/alerts/{created['id']}/events").json()["results"]
    assert events[0]["kind"] == "test"


def test_test_send_to_a_private_address_is_refused_when_not_allowed(client):
    created = client.post(
        "/api/v1/alerts", {**RULE, "channels": [{"type": "webhook", "url": "http://127.0.0.1:9/x"}]}
    ).json()
    deliveries = client.post(f"/api/v1/alerts/{created['id']}/test").json()["deliveries"]
    assert deliveries[0]["ok"] is False
