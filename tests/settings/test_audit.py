import pytest

from apps.settings.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_every_mutation_is_audited_without_secret_values(api, org_a, in_org):
    client = api(org_a)
    client.post("/api/v1/customers", {"external_id": "aud-1", "name": "Audited"})
    client.post("/api/v1/secrets", {"name": "AUD_SECRET", "value": "super-secret-value"})
    key = client.post("/api/v1/api-keys", {"name": "aud", "kind": "test"}).json()
    client.delete(f"/api/v1/api-keys/{key['id']}")
    in_org(org_a)
    actions = list(AuditEvent.objects.order_by("created_at").values_list("action", "resource_id", "outcome"))
    assert ("customer.create", "aud-1", "success") in actions
    assert ("secret.create", "AUD_SECRET", "success") in actions
    assert ("api_key.create", key["id"], "success") in actions
    assert ("api_key.revoke", key["id"], "success") in actions
    for event in AuditEvent.objects.all():
        assert "super-secret-value" not in str(event.changes)
        assert key["key"] not in str(event.changes)
    event = AuditEvent.objects.get(action="customer.create", resource_id="aud-1")
    assert event.actor_type == "api_key" and event.actor_label.startswith("API key")
    assert event.ip == "127.0.0.1"


def test_every_denied_attempt_is_audited(api, org_a, role_key, in_org):
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    viewer.post("/api/v1/customers", {"external_id": "nope", "name": "Nope"})
    viewer.delete("/api/v1/secrets/ANY")
    viewer.get("/api/v1/api-keys")
    in_org(org_a)
    denied = set(AuditEvent.objects.filter(outcome="denied").values_list("action", flat=True))
    assert {"customers.create", "secrets.delete", "api_keys.view"} <= denied


def test_audit_log_endpoint_filters_and_lists_newest_first(api, org_a, role_key):
    client = api(org_a)
    client.post("/api/v1/customers", {"external_id": "f1", "name": "F1"})
    client.post("/api/v1/customers", {"external_id": "f2", "name": "F2"})
    api(org_a, key=role_key(org_a, "viewer")).post("/api/v1/customers", {"external_id": "x", "name": "x"})

    events = client.get("/api/v1/audit-log", {"action": "customer.create"}).json()["results"]
    assert [e["resource_id"] for e in events][:2] == ["f2", "f1"]
    assert set(events[0]) >= {"timestamp", "actor", "action", "resource_type", "resource_id", "outcome"}
    denied = client.get("/api/v1/audit-log", {"outcome": "denied"}).json()["results"]
    assert denied and all(e["outcome"] == "denied" for e in denied)
    by_type = client.get("/api/v1/audit-log", {"resource_type": "customer"}).json()["results"]
    assert all(e["resource_type"] == "customer" for e in by_type)
    assert client.get("/api/v1/audit-log", {"since": "2999-01-01T00:00:00Z"}).json()["results"] == []
    assert client.get("/api/v1/audit-log", {"outcome": "maybe"}).status_code == 400
    assert client.get("/api/v1/audit-log", {"since": "yesterday"}).status_code == 400


def test_audit_log_is_per_organization(api, org_a, org_b):
    api(org_a).post("/api/v1/customers", {"external_id": "only-a", "name": "A"})
    assert "only-a" not in api(org_b).get("/api/v1/audit-log").content.decode()


def test_developer_cannot_read_the_audit_log(api, org_a, role_key):
    assert api(org_a, key=role_key(org_a, "developer")).get("/api/v1/audit-log").status_code == 403
