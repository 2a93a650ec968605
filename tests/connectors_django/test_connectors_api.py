"""Connectors through the API: create, read, change (versions), delete, the
schema, bad input, permissions and isolation between organizations."""

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from apps.connectors.models import Connector, ConnectorVersion
from apps.settings.models import AuditEvent
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db


def test_api_md_minimal_definition_is_created_and_read_back(api, org_a, minimal):
    client = api(org_a)
    created = client.post("/api/v1/connectors", minimal)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["slug"] == "acme-crm"
    assert body["version"] == 1
    assert body["source"] == "custom"
    assert body["auth_type"] == "api_key"
    assert body["action_count"] == 3
    assert body["definition"] == minimal
    assert [a["name"] for a in body["actions"]] == ["listContacts", "getContact", "createContact"]
    assert body["connect"]["credential_fields"][0]["name"] == "api_key"

    fetched = client.get("/api/v1/connectors/acme-crm").json()
    assert fetched["definition"] == minimal
    # Stored as written: the order of fields and actions is the author's.
    assert list(fetched["definition"]) == list(minimal)
    assert [a["name"] for a in fetched["actions"]] == ["listContacts", "getContact", "createContact"]
    version = client.get("/api/v1/connectors/acme-crm/versions/1").json()
    assert list(version["definition"]["actions"]) == ["listContacts", "getContact", "createContact"]
    listed = client.get("/api/v1/connectors").json()
    assert [c["slug"] for c in listed["results"]] == ["acme-crm"]
    assert "definition" not in listed["results"][0]


@pytest.mark.parametrize(
    "change, path",
    [
        (lambda d: d["actions"]["getContact"].update(method="FETCH"), "$.actions.getContact.method"),
        (lambda d: d.pop("base_url"), "$.base_url"),
        (lambda d: d.update(colour="blue"), "$.colour"),
        (lambda d: d.update(slug="Not A Slug"), "$.slug"),
        (lambda d: d["auth"].update(**{"in": "cookie"}), "$.auth.in"),
        (lambda d: d["actions"]["listContacts"].update(path="contacts"), "$.actions.listContacts.path"),
        (lambda d: d.update(actions={}), "$.actions"),
        (lambda d: d.update(name=12), "$.name"),
        (lambda d: d["actions"].update({"bad name": {"method": "GET", "path": "/x"}}), '$.actions["bad name"]'),
    ],
)
def test_invalid_definitions_get_400_with_the_json_path(api, org_a, minimal, change, path):
    change(minimal)
    error = assert_error(api(org_a).post("/api/v1/connectors", minimal), 400, "invalid_connector_definition")
    assert error["message"].startswith(path)
    assert path in error["details"]["fields"]
    assert any(p["path"] == path for p in error["details"]["problems"])


def test_every_problem_is_listed(api, org_a, minimal):
    minimal["actions"]["getContact"]["method"] = "FETCH"
    minimal["colour"] = "blue"
    error = assert_error(api(org_a).post("/api/v1/connectors", minimal), 400)
    assert {"$.actions.getContact.method", "$.colour"} <= set(error["details"]["fields"])


def test_malformed_and_non_object_bodies_are_400(api, org_a):
    client = api(org_a)
    assert_error(client.post("/api/v1/connectors", raw=b'{"slug": "x",'), 400, "malformed_json")
    assert_error(client.post("/api/v1/connectors", raw=b"[1, 2]"), 400, "invalid_body")
    assert_error(client.post("/api/v1/connectors", raw=b'"text"'), 400, "invalid_body")


def test_duplicate_slug_is_409_and_reserved_slugs_are_refused(api, org_a, minimal):
    client = api(org_a)
    assert client.post("/api/v1/connectors", minimal).status_code == 201
    assert_error(client.post("/api/v1/connectors", minimal), 409, "connector_exists")
    minimal["slug"] = "schema"
    error = assert_error(client.post("/api/v1/connectors", minimal), 400, "invalid_connector_definition")
    assert "$.slug" in error["details"]["fields"]


def test_patch_merges_into_the_definition_and_makes_a_version(api, org_a, minimal):
    client = api(org_a)
    client.post("/api/v1/connectors", minimal)
    patched = client.patch(
        "/api/v1/connectors/acme-crm",
        {"name": "Acme CRM v2", "actions": {"deleteContact": {"method": "DELETE", "path": "/contacts/{id}"}}},
    )
    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert body["version"] == 2
    assert body["name"] == "Acme CRM v2"
    assert set(body["definition"]["actions"]) == {"listContacts", "getContact", "createContact", "deleteContact"}

    # null removes a key (RFC 7386)
    removed = client.patch("/api/v1/connectors/acme-crm", {"actions": {"deleteContact": None}}).json()
    assert removed["version"] == 3
    assert "deleteContact" not in removed["definition"]["actions"]

    # The same content again: no new version.
    same = client.patch("/api/v1/connectors/acme-crm", {"name": "Acme CRM v2"}).json()
    assert same["version"] == 3

    versions = client.get("/api/v1/connectors/acme-crm/versions").json()["results"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert len({v["content_hash"] for v in versions}) == 3
    first = client.get("/api/v1/connectors/acme-crm/versions/1").json()
    assert first["definition"] == minimal
    assert_error(client.get("/api/v1/connectors/acme-crm/versions/99"), 404, "connector_version_not_found")


def test_enabled_switch_does_not_make_a_version(api, org_a, minimal):
    client = api(org_a)
    client.post("/api/v1/connectors", minimal)
    body = client.patch("/api/v1/connectors/acme-crm", {"enabled": False}).json()
    assert body["enabled"] is False and body["version"] == 1
    assert [c["slug"] for c in client.get("/api/v1/connectors?enabled=false").json()["results"]] == ["acme-crm"]
    assert client.get("/api/v1/connectors?enabled=true").json()["results"] == []
    assert_error(client.patch("/api/v1/connectors/acme-crm", {"enabled": "no"}), 400)


def test_bad_patches_name_the_path_and_change_nothing(api, org_a, minimal):
    client = api(org_a)
    client.post("/api/v1/connectors", minimal)
    error = assert_error(client.patch("/api/v1/connectors/acme-crm", {"base_url": "ftp://x"}), 400)
    assert "$.base_url" in error["details"]["fields"]
    error = assert_error(client.patch("/api/v1/connectors/acme-crm", {"slug": "other"}), 400)
    assert "$.slug" in error["details"]["fields"]
    assert_error(client.patch("/api/v1/connectors/acme-crm", {}), 400, "empty_patch")
    assert_error(client.patch("/api/v1/connectors/acme-crm", raw=b"[]"), 400, "invalid_body")
    assert client.get("/api/v1/connectors/acme-crm").json()["version"] == 1
    assert_error(client.patch("/api/v1/connectors/nope", {"name": "x"}), 404, "connector_not_found")


def test_put_replaces_the_definition(api, org_a, minimal):
    client = api(org_a)
    client.post("/api/v1/connectors", minimal)
    replacement = {**minimal, "actions": {"ping": {"method": "GET", "path": "/ping"}}}
    body = client.put("/api/v1/connectors/acme-crm", replacement).json()
    assert body["version"] == 2 and list(body["definition"]["actions"]) == ["ping"]


def test_delete_removes_the_connector_and_its_versions(api, org_a, minimal, in_org):
    client = api(org_a)
    client.post("/api/v1/connectors", minimal)
    assert client.delete("/api/v1/connectors/acme-crm").status_code == 204
    assert_error(client.get("/api/v1/connectors/acme-crm"), 404, "connector_not_found")
    assert_error(client.delete("/api/v1/connectors/acme-crm"), 404)
    in_org(org_a)
    assert not ConnectorVersion.objects.exists()


def test_schema_endpoint_publishes_the_json_schema(api, org_a):
    schema = api(org_a).get("/api/v1/connectors/schema").json()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["required"] == ["slug", "name", "base_url", "actions"]


def test_versions_are_immutable_in_the_database(api, org_a, minimal, in_org):
    api(org_a).post("/api/v1/connectors", minimal)
    in_org(org_a)
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        ConnectorVersion.objects.update(note="rewritten")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM connectors_connectorversion WHERE note = 'rewritten'")
        assert cursor.fetchone()[0] == 0


def test_mutations_are_audited(api, org_a, minimal, in_org):
    client = api(org_a)
    client.post("/api/v1/connectors", minimal)
    client.patch("/api/v1/connectors/acme-crm", {"name": "Renamed"})
    client.delete("/api/v1/connectors/acme-crm")
    in_org(org_a)
    actions = list(
        AuditEvent.objects.filter(resource_type="connector", resource_id="acme-crm")
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions == ["connector.create", "connector.update", "connector.delete"]


def test_other_organization_cannot_see_or_change_connectors(api, org_a, org_b, minimal):
    api(org_a).post("/api/v1/connectors", minimal)
    other = api(org_b)
    assert other.get("/api/v1/connectors").json()["results"] == []
    assert_error(other.get("/api/v1/connectors/acme-crm"), 404)
    assert_error(other.patch("/api/v1/connectors/acme-crm", {"name": "x"}), 404)
    assert_error(other.delete("/api/v1/connectors/acme-crm"), 404)
    assert_error(other.get("/api/v1/connectors/acme-crm/versions"), 404)
    # Org B can use the same slug for its own connector.
    assert other.post("/api/v1/connectors", minimal).status_code == 201


def test_viewer_can_read_but_not_write_and_the_refusal_is_audited(api, org_a, role_key, minimal, in_org):
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    assert viewer.get("/api/v1/connectors").status_code == 200
    assert_error(viewer.post("/api/v1/connectors", minimal), 403, "permission_denied")
    assert_error(viewer.post("/api/v1/catalog/github/install"), 403)
    in_org(org_a)
    assert AuditEvent.objects.filter(action="connectors.create", outcome="denied").count() == 2
    assert not Connector.objects.exists()


def test_end_user_keys_can_read_connectors_but_not_change_them(api, org_a, role_key, minimal):
    api(org_a).post("/api/v1/connectors", minimal)
    end_user = api(org_a, key=role_key(org_a, "end_user"))
    assert end_user.get("/api/v1/connectors/acme-crm").status_code == 200
    assert_error(end_user.patch("/api/v1/connectors/acme-crm", {"name": "x"}), 403)
    assert_error(end_user.delete("/api/v1/connectors/acme-crm"), 403)


def test_without_a_key_it_is_401(api, org_a):
    assert_error(api(org_a, key="").get("/api/v1/connectors"), 401)
    assert_error(api(org_a, key="fastn_live_wrong").get("/api/v1/catalog"), 401)


def test_list_filters_and_pagination(api, org_a, minimal):
    client = api(org_a)
    for i in range(3):
        client.post("/api/v1/connectors", {**minimal, "slug": f"acme-{i}", "name": f"Acme {i}"})
    page = client.get("/api/v1/connectors?limit=2").json()
    assert len(page["results"]) == 2 and page["has_more"]
    rest = client.get(f"/api/v1/connectors?limit=2&cursor={page['next_cursor']}").json()
    assert len(rest["results"]) == 1 and not rest["has_more"]
    assert [c["slug"] for c in client.get("/api/v1/connectors?search=acme-1").json()["results"]] == ["acme-1"]
    assert_error(client.get("/api/v1/connectors?source=nope"), 400)
    assert_error(client.get("/api/v1/connectors?limit=0"), 400)
    assert_error(client.get("/api/v1/connectors?cursor=garbage"), 400)
