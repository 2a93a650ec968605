import hashlib

import pytest
from django.db import connection

from apps.settings.models import ApiKey, AuditEvent
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db


def test_key_is_shown_once_and_stored_only_as_prefix_and_hash(api, org_a, in_org):
    created = api(org_a).post("/api/v1/api-keys", {"name": "CI", "kind": "test"})
    assert created.status_code == 201
    body = created.json()
    raw = body["key"]
    assert raw.startswith("fastn_test_") and len(raw) >= 40
    assert body["prefix"] == raw[: len("fastn_test_") + 8]
    assert body["role"] == "developer"
    assert created["Cache-Control"] == "no-store"

    listed = api(org_a).get("/api/v1/api-keys").content.decode()
    assert raw not in listed and body["prefix"] in listed

    in_org(org_a)
    key = ApiKey.objects.get(id=body["id"])
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM settings_apikey")
        assert raw not in repr(cursor.fetchall())


def test_live_keys_default_to_admin_and_roles_can_be_chosen(api, org_a):
    assert api(org_a).post("/api/v1/api-keys", {"name": "L", "kind": "live"}).json()["role"] == "admin"
    viewer = api(org_a).post("/api/v1/api-keys", {"name": "V", "kind": "live", "role": "viewer"}).json()
    assert viewer["role"] == "viewer"


def test_revoked_key_gets_401_at_once(api, org_a):
    created = api(org_a).post("/api/v1/api-keys", {"name": "Temp", "kind": "live"}).json()
    temp = api(org_a, key=created["key"])
    assert temp.get("/api/v1/customers").status_code == 200
    assert api(org_a).delete(f"/api/v1/api-keys/{created['id']}").status_code == 204
    assert_error(temp.get("/api/v1/customers"), 401, "invalid_api_key")
    assert created["id"] not in api(org_a).get("/api/v1/api-keys").content.decode()
    revoked = api(org_a).get("/api/v1/api-keys", {"include_revoked": "true"}).json()["results"]
    assert any(k["id"] == created["id"] and k["revoked_at"] for k in revoked)


def test_last_used_time_is_kept(api, org_a, in_org):
    created = api(org_a).post("/api/v1/api-keys", {"name": "Used", "kind": "live"}).json()
    assert created["last_used_at"] is None
    api(org_a, key=created["key"]).get("/api/v1/customers")
    in_org(org_a)
    assert ApiKey.objects.get(id=created["id"]).last_used_at is not None


def test_viewer_key_cannot_create_anything(api, org_a, role_key):
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    assert viewer.get("/api/v1/customers").status_code == 200
    assert_error(viewer.post("/api/v1/customers", {"external_id": "v", "name": "V"}), 403, "permission_denied")
    assert_error(viewer.post("/api/v1/secrets", {"name": "V", "value": "v"}), 403)
    assert_error(viewer.post("/api/v1/api-keys", {"name": "V", "kind": "test"}), 403)


def test_developer_cannot_manage_api_keys(api, org_a, role_key):
    developer = api(org_a, key=role_key(org_a, "developer"))
    assert_error(developer.get("/api/v1/api-keys"), 403)
    assert_error(developer.post("/api/v1/api-keys", {"name": "D", "kind": "live"}), 403)
    some_key = api(org_a).post("/api/v1/api-keys", {"name": "Target", "kind": "test"}).json()
    assert_error(developer.delete(f"/api/v1/api-keys/{some_key['id']}"), 403)


def test_admin_cannot_mint_an_owner_key(api, org_a, role_key, in_org):
    admin = api(org_a, key=role_key(org_a, "admin"))
    error = assert_error(admin.post("/api/v1/api-keys", {"name": "Up", "kind": "live", "role": "owner"}), 403)
    assert error["code"] == "role_not_grantable"
    in_org(org_a)
    assert AuditEvent.objects.filter(action="api_key.create", outcome="denied").exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "test"}, "name"),
        ({"name": "x"}, "kind"),
        ({"name": "x", "kind": "prod"}, "kind"),
        ({"name": "x", "kind": "test", "role": "emperor"}, "role"),
        ({"name": 5, "kind": "test"}, "name"),
    ],
)
def test_bad_api_key_input_names_the_field(api, org_a, body, field):
    response = api(org_a).post("/api/v1/api-keys", body)
    error = assert_error(response, 400)
    assert field in error["details"]["fields"]


def test_revoking_another_organizations_key_is_404(api, org_a, org_b, in_org):
    in_org(org_b)
    b_key = ApiKey.objects.filter(kind="live").first()
    connection.set_schema_to_public()
    assert_error(api(org_a).delete(f"/api/v1/api-keys/{b_key.id}"), 404, "api_key_not_found")
    assert_error(api(org_a).delete("/api/v1/api-keys/not-a-uuid"), 404)
    assert api(org_b).get("/api/v1/customers").status_code == 200
