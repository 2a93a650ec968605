"""Customer sessions: minting, what a token may reach, expiry and revocation
at once, and the organization's view of a customer's sessions."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.widgets.conftest import EmbedClient

pytestmark = pytest.mark.django_db


def test_a_session_is_minted_for_a_customer_and_its_token_reaches_the_end_user_api(org_a, embedding):
    side = embedding(org_a)
    customer = side.customer("acme-user-1")
    body = side.session(customer)
    assert set(body) >= {"token", "expires_at", "customer"}
    assert body["token"].startswith("fastn_cs_")
    assert body["customer"] == {"external_id": "acme-user-1", "name": "Acme-User-1"}
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert 3590 <= (expires - dt.datetime.now(dt.UTC)).total_seconds() <= 3600
    response = EmbedClient(body["token"]).get("/api/v1/embed/config")
    assert response.status_code == 200, response.content
    assert response.json()["customer"]["external_id"] == "acme-user-1"


def test_the_token_is_stored_hashed_and_shown_only_once(org_a, embedding):
    from apps.widgets.shared.models import CustomerSession

    side = embedding(org_a)
    customer = side.customer()
    body = side.session(customer)
    row = CustomerSession.objects.get(pk=body["id"])
    assert body["token"] not in (row.token_hash, row.token_prefix)
    assert body["token"].startswith(row.token_prefix)
    listed = side.client.get(f"/api/v1/customers/{customer}/sessions").json()
    assert body["token"] not in str(listed)
    assert listed["results"][0]["id"] == body["id"] and listed["results"][0]["state"] == "active"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ttl_seconds": 59}, "ttl_seconds"),
        ({"ttl_seconds": 86401}, "ttl_seconds"),
        ({"ttl_seconds": "3600"}, "ttl_seconds"),
        ({"ttl_seconds": True}, "ttl_seconds"),
        ({"integrations": "slack"}, "integrations"),
        ({"integrations": ["no-such-connector"]}, "integrations[0]"),
        ({"integrations": [1]}, "integrations"),
        ({"allowed_origin": "https://app.example.com/path"}, "allowed_origin"),
        ({"allowed_origin": "javascript:alert(1)"}, "allowed_origin"),
        ({"allowed_origin": "*"}, "allowed_origin"),
        ({"allowed_origin": 7}, "allowed_origin"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_session_bodies_answer_400_naming_the_field(org_a, embedding, body, field):
    side = embedding(org_a)
    response = side.client.post(f"/api/v1/customers/{side.customer()}/sessions", body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]["fields"], response.json()


def test_malformed_and_oversized_session_bodies(org_a, embedding, settings):
    side = embedding(org_a)
    customer = side.customer()
    response = side.client.post(f"/api/v1/customers/{customer}/sessions", raw="{nope")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_json"
    response = side.client.post(f"/api/v1/customers/{customer}/sessions", raw="[1, 2]")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_body"
    settings.FASTN_MAX_BODY_BYTES = 1000
    response = side.client.post(
        f"/api/v1/customers/{customer}/sessions", raw='{"allowed_origin": "' + "a" * 2000 + '"}'
    )
    assert response.status_code == 413


def test_an_origin_is_stored_the_way_browsers_send_it(org_a, embedding):
    side = embedding(org_a)
    body = side.session(side.customer(), allowed_origin="HTTPS://App.Example.com:443/")
    assert body["allowed_origin"] == "https://app.example.com"


def test_unknown_customers_and_other_organizations_customers_are_404(org_a, org_b, embedding):
    side_a, side_b = embedding(org_a), embedding(org_b)
    theirs = side_b.customer()
    for path in (f"/api/v1/customers/{theirs}/sessions", "/api/v1/customers/nobody-at-all/sessions"):
        response = side_a.client.post(path, {})
        assert response.status_code == 404 and response.json()["error"]["code"] == "customer_not_found"
        assert side_a.client.delete(path).status_code == 404


def test_roles_without_customers_edit_cannot_mint_sessions(org_a, embedding, api, role_key):
    side = embedding(org_a)
    customer = side.customer()
    for role in ("viewer", "end_user"):
        client = api(org_a, key=role_key(org_a, role))
        response = client.post(f"/api/v1/customers/{customer}/sessions", {})
        assert response.status_code == 403, (role, response.content)
    developer = api(org_a, key=role_key(org_a, "developer"))
    assert developer.post(f"/api/v1/customers/{customer}/sessions", {}).status_code == 201


def test_a_session_token_is_refused_by_every_other_api(org_a, embedding, api):
    side = embedding(org_a)
    token = side.session(side.customer())["token"]
    for path in (
        "/api/v1/workflows",
        "/api/v1/customers",
        "/api/v1/connections",
        "/api/v1/executions",
        "/api/v1/widget",
    ):
        plain = EmbedClient(token)
        assert plain.get(path).status_code == 401, path
        # Even with the organization named, a session token is no API key.
        with_account = EmbedClient(token, **{"x-fastn-account-id": org_a.account_id})
        assert with_account.get(path).status_code == 401, path
        as_key = api(org_a, key=token)
        assert as_key.get(path).status_code == 401, path


def test_the_end_user_api_refuses_org_keys_missing_and_unknown_tokens(org_a, api):
    for client in (api(org_a), EmbedClient(None), EmbedClient("fastn_cs_made-up"), EmbedClient("Basic abc")):
        response = client.get("/api/v1/embed/config")
        assert response.status_code == 401, response.content
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert EmbedClient(None).get("/api/v1/embed/config").json()["error"]["code"] == "session_required"
    assert EmbedClient("fastn_cs_made-up").get("/api/v1/embed/config").json()["error"]["code"] == "invalid_session"


def test_an_expired_session_answers_401_at_once(org_a, embedding):
    side = embedding(org_a)
    body = side.session(side.customer(), ttl_seconds=60)
    client = EmbedClient(body["token"])
    assert client.get("/api/v1/embed/config").status_code == 200
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    with time_machine.travel(expires + dt.timedelta(seconds=1), tick=False):
        response = client.get("/api/v1/embed/config")
    assert response.status_code == 401 and response.json()["error"]["code"] == "session_expired"


def test_revoking_a_customers_sessions_stops_all_of_them_at_once(org_a, embedding):
    side = embedding(org_a)
    customer, other = side.customer(), side.customer()
    clients = [EmbedClient(side.session(customer)["token"]) for _ in range(3)]
    bystander = EmbedClient(side.session(other)["token"])
    assert all(c.get("/api/v1/embed/config").status_code == 200 for c in clients)
    assert side.client.delete(f"/api/v1/customers/{customer}/sessions").status_code == 204
    for client in clients:
        response = client.get("/api/v1/embed/config")
        assert response.status_code == 401 and response.json()["error"]["code"] == "session_revoked"
    assert bystander.get("/api/v1/embed/config").status_code == 200
    states = {s["state"] for s in side.client.get(f"/api/v1/customers/{customer}/sessions").json()["results"]}
    assert states == {"revoked"}


def test_revoking_one_session_leaves_the_others(org_a, embedding):
    side = embedding(org_a)
    customer = side.customer()
    first, second = side.session(customer), side.session(customer)
    assert side.client.delete(f"/api/v1/customers/{customer}/sessions/{first['id']}").status_code == 204
    assert EmbedClient(first["token"]).get("/api/v1/embed/config").status_code == 401
    assert EmbedClient(second["token"]).get("/api/v1/embed/config").status_code == 200
    assert side.client.delete(f"/api/v1/customers/{customer}/sessions/not-a-uuid").status_code == 404
    other = side.customer()
    assert side.client.delete(f"/api/v1/customers/{other}/sessions/{second['id']}").status_code == 404


def test_a_session_of_a_deleted_customer_stops_working(org_a, embedding):
    side = embedding(org_a)
    customer = side.customer()
    client = EmbedClient(side.session(customer)["token"])
    assert side.client.delete(f"/api/v1/customers/{customer}").status_code == 204
    assert client.get("/api/v1/embed/config").status_code == 401


def test_a_suspended_organizations_sessions_stop_working(make_org, embedding):
    org = make_org()
    side = embedding(org)
    client = EmbedClient(side.session(side.customer())["token"])
    assert client.get("/api/v1/embed/config").status_code == 200
    org.organization.status = "suspended"
    org.organization.save(update_fields=["status"])
    response = client.get("/api/v1/embed/config")
    assert response.status_code == 401 and response.json()["error"]["code"] == "account_suspended"


def test_minting_and_revoking_are_audited(org_a, embedding):
    side = embedding(org_a)
    customer = side.customer()
    body = side.session(customer, ttl_seconds=120)
    side.client.delete(f"/api/v1/customers/{customer}/sessions")
    log = side.client.get("/api/v1/audit-log", {"resource_type": "customer_session"}).json()["results"]
    created = next(e for e in log if e["action"] == "customer_session.create" and e["resource_id"] == body["id"])
    assert created["changes"]["customer"] == customer and created["changes"]["ttl_seconds"] == 120
    assert body["token"] not in str(log)
    revoked = side.client.get("/api/v1/audit-log", {"action": "customer_session.revoke_all"}).json()["results"]
    assert revoked[0]["resource_id"] == customer and revoked[0]["changes"]["revoked"] == 1


def test_old_sessions_are_purged(org_a, embedding):
    from apps.widgets.services.sessions import customer_sessions_purge
    from apps.widgets.shared.models import CustomerSession

    side = embedding(org_a)
    body = side.session(side.customer(), ttl_seconds=60)
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert customer_sessions_purge(now=expires + dt.timedelta(days=6)) == 0
    assert customer_sessions_purge(now=expires + dt.timedelta(days=8)) >= 1
    assert not CustomerSession.objects.filter(pk=body["id"]).exists()
