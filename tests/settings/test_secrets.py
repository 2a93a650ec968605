import pytest
from django.db import connection

from apps.settings.models import Secret
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db

VALUE = "sk_live_ThisIsVerySecret123"


def test_secret_values_are_never_returned_by_any_endpoint(api, org_a):
    client = api(org_a)
    created = client.post("/api/v1/secrets", {"name": "STRIPE_KEY", "value": VALUE})
    assert created.status_code == 201
    responses = [
        created,
        client.get("/api/v1/secrets"),
        client.get("/api/v1/secrets/STRIPE_KEY"),
        client.put("/api/v1/secrets/STRIPE_KEY", {"value": VALUE + "2"}),
        client.get("/api/v1/audit-log"),
        client.post("/api/v1/secrets", {"name": "STRIPE_KEY", "value": VALUE}),  # 409
        client.get("/api/v1/schema"),
    ]
    for response in responses:
        assert VALUE not in response.content.decode()
    assert "value" not in created.json()
    assert [s["name"] for s in client.get("/api/v1/secrets").json()["results"]] == ["STRIPE_KEY"]


def test_secret_values_are_encrypted_at_rest(api, org_a, in_org):
    api(org_a).post("/api/v1/secrets", {"name": "DB_PASSWORD", "value": VALUE})
    in_org(org_a)
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM settings_secret WHERE name = 'DB_PASSWORD'")
        (ciphertext,) = cursor.fetchone()
    assert VALUE not in ciphertext
    from apps.settings.selectors import secret_value

    assert secret_value(name="DB_PASSWORD") == VALUE
    secret = Secret.objects.get(name="DB_PASSWORD")
    assert VALUE not in repr(secret) and VALUE not in str(secret)


def test_secret_values_never_appear_on_dashboard_pages(client, api, org_a):
    api(org_a).post("/api/v1/secrets", {"name": "PAGE_SECRET", "value": VALUE})
    client.force_login(org_a.owner)
    for path in (f"/o/{org_a.slug}/settings/secrets/", f"/o/{org_a.slug}/", f"/o/{org_a.slug}/settings/api-keys/"):
        response = client.get(path)
        assert response.status_code == 200
        assert VALUE not in response.content.decode()
    assert "PAGE_SECRET" in client.get(f"/o/{org_a.slug}/settings/secrets/").content.decode()


def test_put_creates_then_replaces_and_delete_removes(api, org_a):
    client = api(org_a)
    assert client.put("/api/v1/secrets/TOKEN", {"value": "one-value"}).status_code == 201
    assert client.put("/api/v1/secrets/TOKEN", {"value": "two-value"}).status_code == 200
    from apps.settings.selectors import secret_value

    connection.set_tenant(org_a.organization)
    assert secret_value(name="TOKEN") == "two-value"
    connection.set_schema_to_public()
    assert client.delete("/api/v1/secrets/TOKEN").status_code == 204
    assert_error(client.delete("/api/v1/secrets/TOKEN"), 404, "secret_not_found")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "bad name", "value": "v"}, "name"),
        ({"name": "1STARTS_WITH_DIGIT", "value": "v"}, "name"),
        ({"name": "OK", "value": ""}, "value"),
        ({"name": "OK", "value": 12}, "value"),
        ({"name": "OK"}, "value"),
        ({"value": "v"}, "name"),
        ({"name": "OK", "value": "x" * (64 * 1024 + 1)}, "value"),
    ],
)
def test_bad_secret_input_names_the_field(api, org_a, body, field):
    error = assert_error(api(org_a).post("/api/v1/secrets", body), 400)
    assert field in error["details"]["fields"]


def test_duplicate_secret_is_409(api, org_a):
    api(org_a).post("/api/v1/secrets", {"name": "ONE", "value": "v"})
    assert_error(api(org_a).post("/api/v1/secrets", {"name": "ONE", "value": "w"}), 409, "secret_exists")


def test_other_organization_cannot_see_or_change_secrets(api, org_a, org_b):
    api(org_a).post("/api/v1/secrets", {"name": "A_ONLY", "value": VALUE})
    assert api(org_b).get("/api/v1/secrets").json()["results"] == []
    assert_error(api(org_b).get("/api/v1/secrets/A_ONLY"), 404)
    assert_error(api(org_b).delete("/api/v1/secrets/A_ONLY"), 404)


def test_rotating_encryption_keys_keeps_values_readable(api, org_a, in_org, settings):
    from cryptography.fernet import Fernet

    from apps.settings.selectors import secret_value
    from apps.settings.services import secrets_rotate_encryption

    api(org_a).post("/api/v1/secrets", {"name": "ROTATE_ME", "value": VALUE})
    in_org(org_a)
    old_cipher = Secret.objects.get(name="ROTATE_ME").ciphertext
    new_key = Fernet.generate_key().decode()
    settings.FASTN_ENCRYPTION_KEYS = [new_key, *settings.FASTN_ENCRYPTION_KEYS]
    assert secret_value(name="ROTATE_ME") == VALUE  # old key still decrypts
    assert secrets_rotate_encryption() >= 1
    assert Secret.objects.get(name="ROTATE_ME").ciphertext != old_cipher
    settings.FASTN_ENCRYPTION_KEYS = [new_key]  # old key dropped
    assert secret_value(name="ROTATE_ME") == VALUE
