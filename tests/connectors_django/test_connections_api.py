"""Connections through the API: connecting with a credential check against a
fake provider on loopback, reconnecting, deleting, customer and organization
isolation, bad input, and credentials that never come back out."""

import pytest
from django.db import connection as db

from apps.connectors.models import CallTrace, Connection
from apps.settings.models import AuditEvent
from tests.connectors_django.fake_provider import API_KEY
from tests.core.test_errors import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_network")]


@pytest.fixture
def keyapp(api, org_a, provider):
    response = api(org_a).post("/api/v1/connectors", provider.key_definition())
    assert response.status_code == 201, response.content
    return "keyapp"


@pytest.fixture
def as_customer(api, org_a, customer):
    customer(org_a, "cust-x")
    customer(org_a, "cust-y")
    return lambda external_id="cust-x", **kw: api(org_a, customer=external_id, **kw)


def connect(client, key=API_KEY, **extra):
    return client.post("/api/v1/connections", {"connector": "keyapp", "credentials": {"api_key": key}, **extra})


def test_connecting_checks_the_credentials_with_the_provider(as_customer, keyapp, provider, org_a, in_org):
    response = connect(as_customer())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["connector"] == "keyapp" and body["customer"] == "cust-x" and body["scope"] == "customer"
    assert body["status"] == "connected" and body["last_verified_at"]
    assert "credentials" not in body and API_KEY not in response.content.decode()
    assert provider.counts["GET /keyapi/me"] == 1
    in_org(org_a)
    trace = CallTrace.objects.get(origin="verify")
    assert (trace.connector_slug, trace.action, trace.status, trace.ok) == ("keyapp", "whoami", 200, True)
    assert str(trace.connection_id) == body["id"] and trace.connector_version == 1


def test_wrong_credentials_get_400_with_the_providers_message(as_customer, keyapp, org_a, in_org):
    response = connect(as_customer(), key="wrong-key-123456")
    error = assert_error(response, 400, "credentials_rejected")
    assert "Invalid API key provided" in error["message"]
    assert error["details"]["provider_status"] == 401
    assert "wrong-key-123456" not in response.content.decode()
    assert as_customer().get("/api/v1/connections").json()["results"] == []
    in_org(org_a)
    trace = CallTrace.objects.get(origin="verify")
    assert trace.status == 401 and not trace.ok and trace.error_code == "http_error"
    assert "wrong-key-123456" not in trace.error + trace.url


def test_verification_can_be_skipped(as_customer, keyapp, provider):
    body = connect(as_customer(), key="not-checked-key", verify=False).json()
    assert body["status"] == "connected" and body["last_verified_at"] is None
    assert provider.counts["GET /keyapi/me"] == 0


def test_unreachable_provider_is_503_and_blocked_address_is_400(as_customer, api, org_a, settings, minimal):
    client = as_customer()
    unreachable = {**minimal, "slug": "down", "base_url": "http://127.0.0.1:9/api", "verify": "listContacts"}
    api(org_a).post("/api/v1/connectors", unreachable)
    response = client.post("/api/v1/connections", {"connector": "down", "credentials": {"api_key": "k-12345"}})
    assert_error(response, 503, "provider_unreachable")
    settings.FASTN_ALLOW_PRIVATE_NETWORK = False
    response = client.post("/api/v1/connections", {"connector": "down", "credentials": {"api_key": "k-12345"}})
    assert_error(response, 400, "destination_blocked")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"connector": "keyapp", "credentials": {}}, "credentials.api_key"),
        ({"connector": "keyapp", "credentials": {"api_key": 12}}, "credentials.api_key"),
        ({"connector": "keyapp", "credentials": {"api_key": " "}}, "credentials.api_key"),
        ({"connector": "keyapp", "credentials": "k"}, "credentials"),
        ({"connector": "keyapp", "credentials": {"api_key": "k1234"}, "config": {"shop": "x"}}, "config.shop"),
        ({"connector": "keyapp", "credentials": {"api_key": "k1234"}, "verify": "yes"}, "verify"),
        ({"connector": 5, "credentials": {"api_key": "k1234"}}, "connector"),
        ({"credentials": {"api_key": "k1234"}}, "connector"),
        ({"connector": "keyapp", "credentials": {"api_key": "k1234"}, "colour": "blue"}, "colour"),
    ],
)
def test_bad_connection_input_names_the_field(as_customer, keyapp, body, field):
    error = assert_error(as_customer().post("/api/v1/connections", body), 400)
    assert field in error["details"]["fields"], error


def test_connections_need_a_known_customer_and_connector(api, org_a, as_customer, keyapp):
    assert_error(api(org_a).get("/api/v1/connections"), 400, "customer_required")
    assert_error(api(org_a).post("/api/v1/connections", {"connector": "keyapp"}), 400, "customer_required")
    assert_error(api(org_a, customer="nobody").get("/api/v1/connections"), 404, "customer_not_found")
    response = as_customer().post("/api/v1/connections", {"connector": "nope", "credentials": {"api_key": "k1234"}})
    assert_error(response, 404, "connector_not_found")
    api(org_a).patch("/api/v1/connectors/keyapp", {"enabled": False})
    assert_error(connect(as_customer()), 409, "connector_disabled")
    assert_error(as_customer().get("/api/v1/connections?status=weird"), 400)
    assert_error(as_customer().get("/api/v1/connections?scope=everyone"), 400)


def test_one_connection_per_customer_and_connector(as_customer, keyapp):
    first = connect(as_customer()).json()
    error = assert_error(connect(as_customer()), 409, "connection_exists")
    assert error["details"]["connection_id"] == first["id"]
    assert connect(as_customer("cust-y")).status_code == 201


def test_customer_x_cannot_see_or_use_customer_y_connection(as_customer, keyapp, provider):
    x = connect(as_customer("cust-x")).json()
    y_client = as_customer("cust-y")
    assert y_client.get("/api/v1/connections").json()["results"] == []
    for response in (
        y_client.get(f"/api/v1/connections/{x['id']}"),
        y_client.patch(f"/api/v1/connections/{x['id']}", {"config": {}}),
        y_client.delete(f"/api/v1/connections/{x['id']}"),
        y_client.post(f"/api/v1/connections/{x['id']}/verify"),
    ):
        assert_error(response, 404, "connection_not_found")
    # Nor does a call as customer Y use X's connection.
    run = y_client.post("/api/v1/connectors/keyapp/actions/whoami/run", {})
    assert run.json()["ok"] is False and run.json()["error"]["code"] == "no_connection"
    assert as_customer("cust-x").get(f"/api/v1/connections/{x['id']}").json()["status"] == "connected"


def test_other_organization_cannot_see_connections(api, org_a, org_b, as_customer, keyapp, customer):
    created = connect(as_customer()).json()
    customer(org_b, "cust-x")
    other = api(org_b, customer="cust-x")
    assert other.get("/api/v1/connections").json()["results"] == []
    assert_error(other.get(f"/api/v1/connections/{created['id']}"), 404)
    assert_error(other.delete(f"/api/v1/connections/{created['id']}"), 404)


def test_malformed_connection_ids_are_404(as_customer, keyapp):
    assert_error(as_customer().get("/api/v1/connections/not-a-uuid"), 404)
    assert_error(as_customer().delete("/api/v1/connections/00000000-0000-0000-0000-000000000000"), 404)


def test_reconnect_with_new_credentials_and_change_settings(as_customer, keyapp, api, org_a, provider, minimal):
    client = as_customer()
    created = connect(client, key="old-key-0000", verify=False).json()
    assert_error(client.patch(f"/api/v1/connections/{created['id']}", {"credentials": {"api_key": "bad-key-1"}}), 400)
    updated = client.patch(f"/api/v1/connections/{created['id']}", {"credentials": {"api_key": API_KEY}})
    assert updated.status_code == 200 and updated.json()["last_verified_at"]
    assert_error(client.patch(f"/api/v1/connections/{created['id']}", {}), 400, "empty_patch")
    assert_error(client.patch(f"/api/v1/connections/{created['id']}", {"config": {"nope": 1}}), 400)


def test_settings_are_checked_against_connection_config(api, org_a, as_customer, provider):
    definition = provider.key_definition("shopish")
    definition["base_url"] = provider.url + "/keyapi"
    definition["connection_config"] = {
        "type": "object",
        "properties": {"region": {"type": "string", "enum": ["eu", "us"]}},
        "required": ["region"],
    }
    api(org_a).post("/api/v1/connectors", definition)
    client = as_customer()
    body = {"connector": "shopish", "credentials": {"api_key": API_KEY}}
    assert "config.region" in assert_error(client.post("/api/v1/connections", body), 400)["details"]["fields"]
    error = assert_error(client.post("/api/v1/connections", {**body, "config": {"region": "mars"}}), 400)
    assert "config.region" in error["details"]["fields"]
    created = client.post("/api/v1/connections", {**body, "config": {"region": "eu"}})
    assert created.status_code == 201 and created.json()["config"] == {"region": "eu"}
    connection_id = created.json()["id"]
    patched = client.patch(f"/api/v1/connections/{connection_id}", {"config": {"region": "us"}})
    assert patched.json()["config"] == {"region": "us"}
    assert_error(client.patch(f"/api/v1/connections/{connection_id}", {"config": {"region": None}}), 400)


def test_delete_revokes_wipes_and_frees_the_slot(as_customer, keyapp, org_a, in_org):
    client = as_customer()
    created = connect(client).json()
    assert client.delete(f"/api/v1/connections/{created['id']}").status_code == 204
    assert_error(client.get(f"/api/v1/connections/{created['id']}"), 404)
    assert_error(client.delete(f"/api/v1/connections/{created['id']}"), 404)
    assert client.get("/api/v1/connections").json()["results"] == []
    assert connect(client).status_code == 201
    in_org(org_a)
    revoked = Connection.objects.get(pk=created["id"])
    assert revoked.status == "revoked" and revoked.credentials_ciphertext == "" and revoked.revoked_at
    event = AuditEvent.objects.get(action="connection.delete")
    assert event.changes["provider_revocation"] == "not_supported"


def test_connector_with_connections_cannot_be_deleted(api, org_a, as_customer, keyapp):
    created = connect(as_customer()).json()
    assert_error(api(org_a).delete("/api/v1/connectors/keyapp"), 409, "connector_in_use")
    as_customer().delete(f"/api/v1/connections/{created['id']}")
    assert api(org_a).delete("/api/v1/connectors/keyapp").status_code == 204


def test_deleting_a_customer_deletes_its_connections(api, org_a, as_customer, keyapp, in_org):
    connect(as_customer())
    assert api(org_a).delete("/api/v1/customers/cust-x").status_code == 204
    in_org(org_a)
    assert not Connection.objects.exists()


def test_organization_connections(api, org_a, keyapp, role_key, as_customer):
    org_client = api(org_a)
    response = org_client.post(
        "/api/v1/connections?scope=organization", {"connector": "keyapp", "credentials": {"api_key": API_KEY}}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["scope"] == "organization" and body["customer"] is None
    assert [c["id"] for c in org_client.get("/api/v1/connections?scope=organization").json()["results"]] == [body["id"]]
    # A customer does not see it, and an end-user key cannot reach it.
    assert as_customer().get("/api/v1/connections").json()["results"] == []
    assert_error(as_customer().get(f"/api/v1/connections/{body['id']}"), 404)
    end_user = api(org_a, key=role_key(org_a, "end_user"))
    assert_error(end_user.get("/api/v1/connections?scope=organization"), 403)
    assert_error(as_customer().get("/api/v1/connections?scope=organization"), 400)
    # The organization's own connection serves calls without a customer.
    run = org_client.post("/api/v1/connectors/keyapp/actions/whoami/run?scope=organization", {})
    assert run.json() == {**run.json(), "ok": True, "data": {"account": "acme"}}


def test_end_user_keys_manage_connections_for_customers(api, org_a, keyapp, role_key, customer):
    customer(org_a, "cust-e")
    end_user = api(org_a, key=role_key(org_a, "end_user"), customer="cust-e")
    created = end_user.post("/api/v1/connections", {"connector": "keyapp", "credentials": {"api_key": API_KEY}})
    assert created.status_code == 201
    assert end_user.get(f"/api/v1/connections/{created.json()['id']}").status_code == 200
    assert end_user.delete(f"/api/v1/connections/{created.json()['id']}").status_code == 204


def test_viewer_cannot_connect(api, org_a, keyapp, role_key, customer, in_org):
    customer(org_a, "cust-v")
    viewer = api(org_a, key=role_key(org_a, "viewer"), customer="cust-v")
    assert viewer.get("/api/v1/connections").status_code == 200
    assert_error(connect(viewer), 403)
    in_org(org_a)
    assert AuditEvent.objects.filter(action="connections.create", outcome="denied").exists()


def test_verify_endpoint_checks_a_stored_connection(as_customer, keyapp, org_a, in_org):
    client = as_customer()
    good = connect(client).json()
    result = client.post(f"/api/v1/connections/{good['id']}/verify").json()
    assert result["ok"] is True and result["connection"]["status"] == "connected"
    client.delete(f"/api/v1/connections/{good['id']}")
    bad = connect(client, key="revoked-key-999", verify=False).json()
    result = client.post(f"/api/v1/connections/{bad['id']}/verify").json()
    assert result["ok"] is False and result["provider_status"] == 401
    assert result["connection"]["status"] == "needs_reauth"
    assert "Invalid API key" in result["connection"]["last_error"]


def test_console_runs_actions_and_redacts_credentials(as_customer, keyapp, api, org_a, in_org):
    client = as_customer()
    connect(client)
    ok = client.post("/api/v1/connectors/keyapp/actions/getThing/run", {"params": {"id": 7, "fields": "a,b"}}).json()
    assert ok["ok"] is True and ok["data"] == {"id": 7, "query": {"fields": "a,b"}} and ok["connector_version"] == 1
    failed = client.post("/api/v1/connectors/keyapp/actions/fail/run", {}).json()
    assert failed["ok"] is False
    assert failed["error"]["code"] == "http_error" and failed["error"]["status"] == 400
    assert failed["error"]["body"]["message"] == "Bad request for key [REDACTED]"
    invalid = client.post("/api/v1/connectors/keyapp/actions/getThing/run", {"params": {"id": "x"}}).json()
    assert invalid["error"]["code"] == "invalid_params"
    assert_error(client.post("/api/v1/connectors/keyapp/actions/nope/run", {}), 404, "unknown_action")
    assert_error(client.post("/api/v1/connectors/nope/actions/x/run", {}), 404, "connector_not_found")
    assert_error(client.post("/api/v1/connectors/keyapp/actions/fail/run", {"params": []}), 400)

    traces = api(org_a).get("/api/v1/traces?connector=keyapp").json()["results"]
    # Every call is traced, also those refused before reaching the provider.
    assert [(t["action"], t["error_code"]) for t in traces][:4] == [
        ("nope", "unknown_action"),
        ("getThing", "invalid_params"),
        ("fail", "http_error"),
        ("getThing", ""),
    ]
    assert all(t["customer"] == "cust-x" for t in traces)
    assert traces[2]["status"] == 400 and traces[3]["status"] == 200 and traces[3]["ok"]
    assert api(org_a).get("/api/v1/traces?ok=false&customer=cust-x").json()["results"]
    assert_error(api(org_a).get("/api/v1/traces?execution_id=nope"), 400)
    assert_error(api(org_a).get("/api/v1/traces?ok=maybe"), 400)


def test_credentials_never_come_out_of_any_endpoint_trace_or_audit_row(as_customer, keyapp, api, org_a, in_org, client):
    customer_client = as_customer()
    created = connect(customer_client).json()
    customer_client.post("/api/v1/connectors/keyapp/actions/fail/run", {})
    customer_client.post("/api/v1/connectors/keyapp/actions/echo/run", {"params": {"note": "hello"}})
    customer_client.post(f"/api/v1/connections/{created['id']}/verify")
    responses = [
        customer_client.get("/api/v1/connections"),
        customer_client.get(f"/api/v1/connections/{created['id']}"),
        customer_client.patch(f"/api/v1/connections/{created['id']}", {"credentials": {"api_key": API_KEY}}),
        api(org_a).get("/api/v1/traces"),
        api(org_a).get("/api/v1/audit-log"),
        api(org_a).get("/api/v1/connectors/keyapp"),
        api(org_a).get("/api/v1/schema"),
    ]
    for response in responses:
        assert response.status_code == 200, response.content
        assert API_KEY not in response.content.decode()
    client.force_login(org_a.owner)
    for path in (
        f"/o/{org_a.slug}/integrations/",
        f"/o/{org_a.slug}/integrations/connections/",
        f"/o/{org_a.slug}/integrations/connectors/keyapp/",
        f"/o/{org_a.slug}/",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert API_KEY not in page.content.decode()
    # And no table but the encrypted column holds it.
    in_org(org_a)
    with db.cursor() as cursor:
        for table in ("connectors_connection", "connectors_calltrace", "settings_auditevent", "connectors_connector"):
            cursor.execute(f"SELECT t::text FROM {table} t")  # noqa: S608 - fixed table names
            assert not any(API_KEY in row[0] for row in cursor.fetchall()), table


def test_end_user_keys_see_only_their_customers_traces(api, org_a, as_customer, keyapp, role_key):
    connect(as_customer("cust-x"))
    connect(as_customer("cust-y"))
    as_customer("cust-x").post("/api/v1/connectors/keyapp/actions/whoami/run", {})
    as_customer("cust-y").post("/api/v1/connectors/keyapp/actions/whoami/run", {})
    key = role_key(org_a, "end_user")
    assert_error(api(org_a, key=key).get("/api/v1/traces"), 400, "customer_required")
    seen = api(org_a, key=key, customer="cust-x").get("/api/v1/traces?customer=cust-y").json()["results"]
    assert seen and {t["customer"] for t in seen} == {"cust-x"}
    everyone = api(org_a).get("/api/v1/traces").json()["results"]
    assert {t["customer"] for t in everyone} == {"cust-x", "cust-y"}
