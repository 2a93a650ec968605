"""Deleting a customer revokes its connections at the providers (where the
connector defines how) and records each outcome in the audit log.

Before: the customer's connections went with it (a cascade) and their
tokens stayed valid at the providers."""

import threading
import time

import pytest
from django.db import connection as db

from apps.connectors.models import Connection
from apps.connectors.services import connection_revoke
from apps.settings.models import AuditEvent
from tests.connectors_django.fake_provider import CLIENT_SECRET
from tests.core.test_errors import assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_network")]


def store_tokens(api, org, slug, customer, tokens):
    body = {"connector": slug, "credentials": tokens, "verify": False}
    response = api(org, customer=customer).post("/api/v1/connections", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def three_connections(api, org_a, provider, customer, oauth_app, httpserver, minimal):
    """cust-1 with: fakeapp (RFC 7009 revocation that works), brokenapp (its
    provider answers 503) and an API-key connector (nothing to revoke)."""
    client = api(org_a)
    client.post("/api/v1/connectors", provider.definition())
    broken = provider.definition("brokenapp", revoke_url=httpserver.url_for("/revoke"))
    client.post("/api/v1/connectors", broken)
    client.post("/api/v1/connectors", minimal)
    oauth_app(org_a, "fakeapp")
    oauth_app(org_a, "brokenapp")
    customer(org_a, "cust-1")
    customer(org_a, "cust-2")
    httpserver.expect_request("/revoke", method="POST").respond_with_json(
        {"error": "temporarily_unavailable"}, status=503
    )
    tokens = provider.issue_tokens()
    ids = {
        "fakeapp": store_tokens(api, org_a, "fakeapp", "cust-1", tokens),
        "brokenapp": store_tokens(api, org_a, "brokenapp", "cust-1", provider.issue_tokens()),
        "acme-crm": store_tokens(api, org_a, "acme-crm", "cust-1", {"api_key": "k-123"}),
        "other": store_tokens(api, org_a, "fakeapp", "cust-2", provider.issue_tokens()),
    }
    return ids, tokens


def test_deleting_a_customer_revokes_its_connections_and_audits_each_outcome(
    api, org_a, provider, three_connections, in_org, httpserver
):
    ids, tokens = three_connections
    assert api(org_a).delete("/api/v1/customers/cust-1").status_code == 204

    assert provider.revoked == [tokens["refresh_token"]]  # cust-2's token was left alone
    assert len(httpserver.log) == 1  # the broken provider was asked once
    in_org(org_a)
    assert not Connection.objects.filter(pk__in=[ids["fakeapp"], ids["brokenapp"], ids["acme-crm"]]).exists()
    assert Connection.objects.get(pk=ids["other"]).status == "connected"

    attempts = {
        event.resource_id: event
        for event in AuditEvent.objects.filter(action="connection.provider_revocation", resource_type="connection")
    }
    assert set(attempts) == {ids["fakeapp"], ids["brokenapp"]}  # the API-key connector has nothing to revoke
    ok, failed = attempts[ids["fakeapp"]], attempts[ids["brokenapp"]]
    assert ok.outcome == "success" and ok.changes == {
        "connector": "fakeapp",
        "customer": "cust-1",
        "reason": "customer.delete",
        "result": "revoked",
    }
    assert failed.outcome == "error" and failed.changes["result"] == "temporarily_unavailable"
    deletes = {e.resource_id: e.changes for e in AuditEvent.objects.filter(action="connection.delete")}
    assert {deletes[i]["provider_revocation"] for i in (ids["fakeapp"], ids["brokenapp"], ids["acme-crm"])} == {
        "revoked",
        "temporarily_unavailable",
        "not_supported",
    }
    assert all(deletes[i]["reason"] == "customer.delete" for i in deletes)
    assert AuditEvent.objects.filter(action="customer.delete", resource_id="cust-1").exists()
    # The audit rows name the outcome, never a token or the client secret.
    for event in AuditEvent.objects.all():
        text = str(event.changes)
        assert tokens["refresh_token"] not in text and tokens["access_token"] not in text and CLIENT_SECRET not in text


def test_a_provider_that_hangs_does_not_hold_the_deletion_past_its_budget(
    api, org_a, provider, customer, oauth_app, settings, in_org
):
    settings.FASTN_CUSTOMER_REVOKE_SECONDS = 1.0
    hang = threading.Event()
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/revoke").respond_with_handler(lambda request: hang.wait(5) or None)
    server.start()
    try:
        api(org_a).post("/api/v1/connectors", provider.definition("slowapp", revoke_url=server.url_for("/revoke")))
        oauth_app(org_a, "slowapp")
        customer(org_a, "cust-1")
        store_tokens(api, org_a, "slowapp", "cust-1", provider.issue_tokens())
        started = time.monotonic()
        assert api(org_a).delete("/api/v1/customers/cust-1").status_code == 204
        took = time.monotonic() - started
    finally:
        hang.set()
        server.clear()
        server.stop()
    assert took < 3.5, took
    in_org(org_a)
    event = AuditEvent.objects.get(action="connection.provider_revocation")
    assert event.outcome == "error" and event.changes["result"] in ("temporarily_unavailable", "outbound_timeout")


def test_connection_revoke_is_the_disconnect_service(api, org_a, provider, customer, oauth_app, in_org):
    """What the widget's Disconnect and DELETE /api/v1/connections/{id} call."""
    api(org_a).post("/api/v1/connectors", provider.definition())
    oauth_app(org_a)
    customer(org_a, "cust-1")
    tokens = provider.issue_tokens()
    connection_id = store_tokens(api, org_a, "fakeapp", "cust-1", tokens)
    in_org(org_a)
    connection = Connection.objects.select_related("connector", "customer").get(pk=connection_id)
    assert connection_revoke(actor=None, connection=connection) == "revoked"
    assert provider.revoked == [tokens["refresh_token"]]
    connection.refresh_from_db()
    assert connection.status == "revoked" and connection.credentials_ciphertext == ""
    from apps.connectors.exceptions import ConnectionNotFound

    with pytest.raises(ConnectionNotFound):
        connection_revoke(actor=None, connection=connection)
    assert AuditEvent.objects.filter(action="connection.provider_revocation", outcome="success").count() == 1
    db.set_schema_to_public()
    assert_error(api(org_a, customer="cust-1").delete(f"/api/v1/connections/{connection_id}"), 404)
