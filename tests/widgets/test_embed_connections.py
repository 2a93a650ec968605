"""The end-user API's config and connections: this customer's only,
credentials checked with the provider and never returned, the integration
restriction of a session."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def apps_of(embedding, fake_api, private_network):
    """apps_of(org) → the organization's side with three apps (api_key, basic,
    bearer) on the fake API, all in the widget."""

    def make(org):
        side = embedding(org)
        for slug, kind in (("keyapp", "api_key"), ("basicapp", "basic"), ("bearerapp", "bearer")):
            side.client.post("/api/v1/connectors", fake_api.definition(slug, kind))
        side.widget(
            title="Apps",
            integrations=[
                {"connector": "bearerapp"},
                {"connector": "keyapp", "label": "Key"},
                {"connector": "basicapp"},
            ],
        )
        return side

    return make


def test_config_lists_the_widgets_integrations_in_order_with_this_customers_state(org_a, apps_of):
    side = apps_of(org_a)
    client = side.embed()
    body = client.get("/api/v1/embed/config").json()
    assert body["title"] == "Apps"
    assert [i["connector"] for i in body["integrations"]] == ["bearerapp", "keyapp", "basicapp"]
    key = body["integrations"][1]
    assert key["label"] == "Key" and key["auth_type"] == "api_key" and key["connected"] is False
    assert [f["name"] for f in key["credential_fields"]] == ["api_key"]
    assert key["oauth"] is False and key["connection"] is None
    assert [f["name"] for f in body["integrations"][2]["credential_fields"]] == ["username", "password"]
    assert body["style"]["color-primary"] and body["session"]["expires_at"]
    assert body["templates"] == []


def test_connecting_with_each_credential_form(org_a, apps_of, fake_api):
    side = apps_of(org_a)
    client = side.embed()
    forms = {
        "keyapp": {"api_key": "key-customer-1"},
        "basicapp": {"username": "ann", "password": "pw-secret"},
        "bearerapp": {"token": "tok-abc"},
    }
    for slug, credentials in forms.items():
        response = client.post("/api/v1/embed/connections", {"connector": slug, "credentials": credentials})
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["connector"] == slug and body["status"] == "connected"
        assert "credentials" not in body
        for value in credentials.values():
            assert value not in response.content.decode()
    assert "key-customer-1" in fake_api.keys_seen("/me")  # checked with the provider
    listed = client.get("/api/v1/embed/connections").json()
    assert {c["connector"] for c in listed["results"]} == set(forms)
    assert listed["has_more"] is False and listed["next_cursor"] is None
    config = client.get("/api/v1/embed/config").json()
    assert all(i["connected"] for i in config["integrations"])
    assert "key-customer-1" not in str(config) and "pw-secret" not in str(config)


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"connector": "keyapp", "credentials": {}}, "credentials.api_key", 400),
        ({"connector": "keyapp", "credentials": {"api_key": 5}}, "credentials.api_key", 400),
        ({"connector": "basicapp", "credentials": {"username": "ann"}}, "credentials.password", 400),
        ({"connector": "keyapp", "credentials": "key-1"}, "credentials", 400),
        ({"credentials": {"api_key": "key-1"}}, "connector", 400),
        ({"connector": 7, "credentials": {}}, "connector", 400),
        ({"connector": "keyapp", "credentials": {"api_key": "key-1"}, "account_key": "T123"}, "account_key", 400),
        ({"connector": "keyapp", "credentials": {"api_key": "key-1"}, "config": {"shop": "x"}}, "config.shop", 400),
    ],
)
def test_bad_connection_bodies_answer_400_naming_the_field(org_a, apps_of, body, field, status):
    client = apps_of(org_a).embed()
    response = client.post("/api/v1/embed/connections", body)
    assert response.status_code == status, response.content
    assert field in response.json()["error"]["details"]["fields"], response.json()


def test_malformed_json_and_wrong_credentials(org_a, apps_of):
    client = apps_of(org_a).embed()
    assert client.post("/api/v1/embed/connections", raw="{bad").json()["error"]["code"] == "malformed_json"
    response = client.post("/api/v1/embed/connections", {"connector": "keyapp", "credentials": {"api_key": "wrong"}})
    assert response.status_code == 400 and response.json()["error"]["code"] == "credentials_rejected"
    assert "wrong" not in response.json()["error"]["message"]
    assert client.get("/api/v1/embed/connections").json()["results"] == []


def test_a_second_connection_to_the_same_app_is_a_conflict(org_a, apps_of):
    client = apps_of(org_a).embed()
    body = {"connector": "keyapp", "credentials": {"api_key": "key-1"}}
    assert client.post("/api/v1/embed/connections", body).status_code == 201
    assert client.post("/api/v1/embed/connections", body).status_code == 409


def test_an_app_outside_the_widget_cannot_be_connected(org_a, apps_of, fake_api):
    side = apps_of(org_a)
    side.client.post("/api/v1/connectors", fake_api.definition("hiddenapp"))
    client = side.embed()
    response = client.post("/api/v1/embed/connections", {"connector": "hiddenapp", "credentials": {"api_key": "key-1"}})
    assert response.status_code == 403 and response.json()["error"]["code"] == "integration_not_allowed"


def test_a_restricted_session_sees_and_uses_only_its_integrations(org_a, apps_of):
    side = apps_of(org_a)
    customer = side.customer()
    full = side.embed(customer)
    full.post("/api/v1/embed/connections", {"connector": "keyapp", "credentials": {"api_key": "key-1"}})
    connected = full.post("/api/v1/embed/connections", {"connector": "bearerapp", "credentials": {"token": "tok-1"}})
    restricted = side.embed(customer, integrations=["keyapp"])
    config = restricted.get("/api/v1/embed/config").json()
    assert [i["connector"] for i in config["integrations"]] == ["keyapp"]
    assert config["session"]["integrations"] == ["keyapp"]
    assert [c["connector"] for c in restricted.get("/api/v1/embed/connections").json()["results"]] == ["keyapp"]
    bearer_id = connected.json()["id"]
    assert restricted.get(f"/api/v1/embed/connections/{bearer_id}").status_code == 404
    assert restricted.delete(f"/api/v1/embed/connections/{bearer_id}").status_code == 404
    response = restricted.post("/api/v1/embed/connections", {"connector": "basicapp", "credentials": {}})
    assert response.status_code == 403
    assert full.get(f"/api/v1/embed/connections/{bearer_id}").status_code == 200


def test_a_session_may_name_apps_the_widget_does_not_list(org_a, apps_of, fake_api):
    side = apps_of(org_a)
    side.client.post("/api/v1/connectors", fake_api.definition("extraapp"))
    client = side.embed(integrations=["extraapp", "keyapp"])
    config = client.get("/api/v1/embed/config").json()
    assert [i["connector"] for i in config["integrations"]] == ["keyapp", "extraapp"]
    assert (
        client.post(
            "/api/v1/embed/connections", {"connector": "extraapp", "credentials": {"api_key": "key-x"}}
        ).status_code
        == 201
    )


def test_reconnecting_and_disconnecting(org_a, apps_of, fake_api):
    side = apps_of(org_a)
    client = side.embed()
    made = client.post(
        "/api/v1/embed/connections", {"connector": "keyapp", "credentials": {"api_key": "key-old"}}
    ).json()
    response = client.patch(f"/api/v1/embed/connections/{made['id']}", {"credentials": {"api_key": "key-new"}})
    assert response.status_code == 200 and "key-new" not in response.content.decode()
    assert fake_api.keys_seen("/me")[-1] == "key-new"
    assert client.patch(f"/api/v1/embed/connections/{made['id']}", {}).status_code == 400
    assert client.patch(f"/api/v1/embed/connections/{made['id']}", {"credentials": "x"}).status_code == 400
    assert client.delete(f"/api/v1/embed/connections/{made['id']}").status_code == 204
    assert client.get(f"/api/v1/embed/connections/{made['id']}").status_code == 404
    assert client.delete(f"/api/v1/embed/connections/{made['id']}").status_code == 404
    assert client.get("/api/v1/embed/connections").json()["results"] == []
    # Connecting again after a disconnect works.
    again = client.post("/api/v1/embed/connections", {"connector": "keyapp", "credentials": {"api_key": "key-2"}})
    assert again.status_code == 201


def test_connections_made_through_the_widget_are_the_customers_and_audited(org_a, apps_of, api):
    side = apps_of(org_a)
    customer = side.customer("widget-conn-owner")
    side.embed(customer).post("/api/v1/embed/connections", {"connector": "keyapp", "credentials": {"api_key": "key-9"}})
    listed = api(org_a, customer=customer).get("/api/v1/connections").json()["results"]
    assert [c["connector"] for c in listed] == ["keyapp"]
    log = side.client.get("/api/v1/audit-log", {"action": "connection.create"}).json()["results"]
    mine = next(e for e in log if e["changes"].get("customer") == customer)
    assert mine["actor_type"] == "customer" and mine["actor_id"] == f"customer:{customer}"
    assert "key-9" not in str(log)


def test_oauth_apps_connect_through_the_popup_only(org_a, embedding):
    from tests.connectors_django.fake_provider import FakeProvider

    provider = FakeProvider()  # not started: only its definition is used
    side = embedding(org_a)
    side.connector(provider.definition("oauthapp"))
    side.widget(integrations=[{"connector": "oauthapp"}])
    client = side.embed()
    card = client.get("/api/v1/embed/config").json()["integrations"][0]
    assert card["oauth"] is True and card["credential_fields"] == []
    response = client.post("/api/v1/embed/connections", {"connector": "oauthapp", "credentials": {"access_token": "x"}})
    assert response.status_code == 400 and response.json()["error"]["code"] == "oauth_required"
    provider.server.server_close()
