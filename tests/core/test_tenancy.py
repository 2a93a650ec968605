import pytest
from django.conf import settings
from django.db import connection

from apps.core.models import Organization
from apps.settings.models import ApiKey, Customer, Environment

pytestmark = pytest.mark.django_db


def schema_tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_template_schema_exists_and_new_organizations_clone_it(org_a):
    template = Organization.objects.get(schema_name=settings.TENANT_BASE_SCHEMA)
    assert template.is_template
    assert schema_tables(org_a.organization.schema_name) == schema_tables(settings.TENANT_BASE_SCHEMA)
    assert "settings_customer" in schema_tables(org_a.organization.schema_name)


def test_new_organization_has_owner_environments_and_two_keys(org_a, in_org):
    assert org_a.owner.memberships.get(organization=org_a.organization).role == "owner"
    in_org(org_a)
    assert sorted(Environment.objects.values_list("slug", flat=True)) == ["dev", "production", "staging"]
    assert sorted(ApiKey.objects.values_list("kind", "role")) == [("live", "admin"), ("test", "developer")]
    assert org_a.keys["test"].startswith("fastn_test_") and org_a.keys["live"].startswith("fastn_live_")


def test_organization_a_key_never_reads_organization_b_data(api, org_a, org_b, in_org):
    in_org(org_b)
    Customer.objects.create(external_id="beta-only", name="Beta customer")
    connection.set_schema_to_public()

    # A's key with B's account id: the key does not exist in B's schema.
    response = api(org_b, key=org_a.keys["live"]).get("/api/v1/customers")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert "beta-only" not in response.content.decode()

    # A's key with A's account id sees only A.
    response = api(org_a).get("/api/v1/customers")
    assert response.status_code == 200
    assert [c["external_id"] for c in response.json()["results"]] == []
    assert api(org_a).get("/api/v1/customers/beta-only").status_code == 404


@pytest.mark.parametrize(
    "headers, code",
    [
        ({}, "not_authenticated"),
        ({"HTTP_X_FASTN_ACCESS_KEY": "fastn_live_nope"}, "account_required"),
        ({"HTTP_X_FASTN_ACCOUNT_ID": "not-a-uuid", "HTTP_X_FASTN_ACCESS_KEY": "fastn_live_x"}, "unknown_account"),
        (
            {"HTTP_X_FASTN_ACCOUNT_ID": "00000000-0000-0000-0000-000000000000", "HTTP_X_FASTN_ACCESS_KEY": "k"},
            "unknown_account",
        ),
    ],
)
def test_missing_or_unknown_account_is_a_json_401(client, headers, code):
    response = client.get("/api/v1/customers", **headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code


def test_wrong_key_for_the_account_is_401(api, org_a):
    response = api(org_a, key="fastn_live_" + "x" * 40).get("/api/v1/customers")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_host_name_resolves_an_organization_without_the_header(client, org_a, settings):
    from apps.core.models import Domain

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "api.alpha.example"]
    Domain.objects.create(domain="api.alpha.example", tenant=org_a.organization, is_primary=True)
    response = client.get(
        "/api/v1/customers", HTTP_HOST="api.alpha.example", HTTP_X_FASTN_ACCESS_KEY=org_a.keys["live"]
    )
    assert response.status_code == 200


def test_template_organization_is_not_reachable(client):
    template = Organization.objects.get(schema_name=settings.TENANT_BASE_SCHEMA)
    response = client.get("/api/v1/customers", HTTP_X_FASTN_ACCOUNT_ID=str(template.account_id))
    assert response.status_code == 401
    assert client.get(f"/o/{template.slug}/").status_code in (302, 404)


def test_suspended_account_gets_401(api, org_a):
    Organization.objects.filter(pk=org_a.organization.pk).update(status="suspended")
    try:
        org_a.organization.refresh_from_db()
        response = api(org_a).get("/api/v1/customers")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "account_suspended"
    finally:
        Organization.objects.filter(pk=org_a.organization.pk).update(status="active")
        org_a.organization.refresh_from_db()


def test_bootstrap_org_with_given_password_lets_the_owner_sign_in(client, django_db_blocker):
    from apps.core.services import organization_create

    created = organization_create(name="Sign In Co", owner_email="Owner@SignIn.test", owner_password="pw-Secret-123")
    assert created.owner_password == "pw-Secret-123"
    assert client.login(email="owner@signin.test", password="pw-Secret-123")
    response = client.get("/o/")
    assert response.status_code == 302
    assert response["Location"] == "/o/sign-in-co/"
    assert client.get("/o/sign-in-co/").status_code == 200


def test_organization_names_are_unique_case_insensitively(org_a):
    from apps.core.exceptions import OrganizationExists
    from apps.core.services import organization_create

    with pytest.raises(OrganizationExists):
        organization_create(name="ALPHA corp", owner_email="someone@else.test")
