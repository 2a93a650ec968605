"""fastn.db and fastn.connector used from workflow code, on real workers."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.workers]

DB_CODE = """export default async function(ctx) {
  if (ctx.input.op === 'setup') {
    await fastn.db.execute('CREATE TABLE IF NOT EXISTS contacts (id serial primary key, email text)', []);
    await fastn.db.execute('INSERT INTO contacts (email) VALUES ($1)', [ctx.input.email]);
  }
  if (ctx.input.op === 'raw') {
    return await fastn.db.query(ctx.input.sql, []);
  }
  return await fastn.db.query('SELECT email FROM contacts ORDER BY id', []);
}
"""


def test_fastn_db_is_per_customer_and_cannot_reach_other_schemas(celery_workers, live_org, deploy, api):
    org = live_org()
    other_org = live_org()
    for external_id in ("db-x", "db-y"):
        api(org).post("/api/v1/customers", {"external_id": external_id, "name": external_id})
    wf = deploy(org, DB_CODE, customer="db-x")
    y = api(org, customer="db-y")

    assert wf.run({"op": "setup", "email": "x@x.test"}).json()["output"] == [{"email": "x@x.test"}]
    assert y.post(f"/api/v1/workflows/{wf.slug}/run", {"op": "setup", "email": "y@y.test"}).json()["output"] == [
        {"email": "y@y.test"}
    ]
    assert wf.run({"op": "list"}).json()["output"] == [{"email": "x@x.test"}]

    def raw(sql: str) -> dict:
        return wf.run({"op": "raw", "sql": sql}).json()

    # Platform tables, another organization's schema, other schemas' names: all out of reach.
    for sql in (
        "SELECT * FROM public.accounts_user",
        f"SELECT * FROM {org.organization.schema_name}.settings_secret",
        f"SELECT * FROM {other_org.organization.schema_name}.settings_customer",
        "SELECT nspname FROM pg_namespace",
        "SELECT rolname FROM pg_roles",
        "SET ROLE postgres",
    ):
        result = raw(sql)
        assert result["status"] == "failed", (sql, result)
        assert result["error"]["name"] in ("DatabaseError", "Error"), result["error"]
    names = raw("SELECT schema_name FROM information_schema.schemata")
    assert names["status"] == "completed"
    visible = {row["schema_name"] for row in names["output"]}
    assert org.organization.schema_name not in visible and other_org.organization.schema_name not in visible
    assert len([name for name in visible if name.startswith("fdb_")]) == 1


CONNECTOR_CODE = """export default async function(ctx) {
  const contact = await fastn.connector['acme-crm'].getContact({id: 7, fields: 'email'});
  const created = await fastn.connector.call('acme-crm', 'createContact', {email: 'new@acme.test'});
  try {
    await fastn.connector['acme-crm'].getContact({id: 404});
  } catch (e) {
    return {contact, created, status: e.status, message: e.message};
  }
}
"""


def test_fastn_connector_calls_the_customers_connection_and_traces_it(
    celery_workers, live_org, deploy, api, httpserver, settings
):
    from django.db import connection

    settings.FASTN_ALLOW_PRIVATE_NETWORK = True  # this process; the workers get it below
    secret = "acme-key-123456"
    httpserver.expect_request(
        "/v2/contacts/7", query_string="fields=email", headers={"X-Api-Key": secret}
    ).respond_with_json({"id": 7, "email": "seven@acme.test"})
    httpserver.expect_request("/v2/contacts", method="POST", json={"email": "new@acme.test"}).respond_with_json(
        {"id": 8}, status=201
    )
    httpserver.expect_request("/v2/contacts/404").respond_with_json({"error": "not found", "key": secret}, status=404)
    org = live_org()
    client = api(org)
    definition = {
        "slug": "acme-crm",
        "name": "Acme CRM",
        "base_url": httpserver.url_for("/v2"),
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
        "actions": {
            "listContacts": {"method": "GET", "path": "/contacts"},
            "getContact": {"method": "GET", "path": "/contacts/{id}"},
            "createContact": {"method": "POST", "path": "/contacts"},
        },
    }
    assert client.post("/api/v1/connectors", definition).status_code == 201
    client.post("/api/v1/customers", {"external_id": "acme-cust", "name": "Acme customer"})
    created = api(org, customer="acme-cust").post(
        "/api/v1/connections", {"connector": "acme-crm", "credentials": {"api_key": secret}, "verify": False}
    )
    assert created.status_code == 201, created.content
    wf = deploy(org, CONNECTOR_CODE, customer="acme-cust")
    body = wf.run({}).json()
    assert body["status"] == "completed", body
    assert body["output"]["contact"] == {"id": 7, "email": "seven@acme.test"}
    assert body["output"]["created"] == {"id": 8}
    assert body["output"]["status"] == 404
    assert secret not in str(wf.execution(body["execution_id"]))

    from apps.connectors.models import CallTrace

    connection.set_tenant(org.organization)
    traces = list(CallTrace.objects.filter(execution_id=body["execution_id"]).order_by("created_at"))
    connection.set_schema_to_public()
    assert [(t.action, t.status) for t in traces] == [("getContact", 200), ("createContact", 201), ("getContact", 404)]
    assert all(secret not in str(t.__dict__) for t in traces)

    # A customer without a connection gets a clear error.
    client.post("/api/v1/customers", {"external_id": "no-conn", "name": "None"})
    other = api(org, customer="no-conn").post(f"/api/v1/workflows/{wf.slug}/run", {}).json()
    assert other["status"] == "failed"
    assert "no-conn" in other["error"]["message"] and "acme-crm" in other["error"]["message"]
