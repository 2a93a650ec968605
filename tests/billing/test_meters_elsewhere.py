"""Executions and connections are metered where they are made."""

import pytest

from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db

CODE = "export default async (ctx) => 1"


def test_executions_per_day_is_a_hard_limit_and_counts_once_per_execution(api, quota_org, in_org):
    from apps.workflows.models import Execution

    org = quota_org({"executions_per_day": 2})
    client = api(org)
    client.post("/api/v1/workflows", {"name": "Metered", "code": CODE})
    client.post("/api/v1/workflows/metered/publish")
    client.post("/api/v1/workflows/metered/deploy", {"version": 1})
    assert client.post("/api/v1/workflows/metered/run", {}).status_code == 202
    assert client.post("/api/v1/workflows/metered/run", {}).status_code == 202
    blocked = client.post("/api/v1/workflows/metered/run", {})
    error = assert_error(blocked, 429, "quota_exceeded")
    assert error["details"]["dimension"] == "executions_per_day"
    assert int(blocked["Retry-After"]) > 0
    in_org(org)
    assert Execution.objects.count() == 2


def test_connections_count_against_the_limit_and_free_a_slot_when_deleted(api, quota_org, in_org):
    org = quota_org({"connections": 1})
    client = api(org)
    definition = {
        "slug": "metered-api",
        "name": "Metered",
        "base_url": "https://api.example.com",
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
        "actions": {"ping": {"method": "GET", "path": "/ping"}},
    }
    assert client.post("/api/v1/connectors", definition).status_code == 201
    for external_id in ("m-1", "m-2"):
        client.post("/api/v1/customers", {"external_id": external_id, "name": external_id})
    body = {"connector": "metered-api", "credentials": {"api_key": "k-1234"}, "verify": False}
    first = api(org, customer="m-1").post("/api/v1/connections", body)
    assert first.status_code == 201, first.content
    error = assert_error(api(org, customer="m-2").post("/api/v1/connections", body), 429, "quota_exceeded")
    assert error["details"]["dimension"] == "connections"
    assert api(org, customer="m-1").delete(f"/api/v1/connections/{first.json()['id']}").status_code == 204
    assert api(org, customer="m-2").post("/api/v1/connections", body).status_code == 201
