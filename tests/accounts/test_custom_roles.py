"""Custom roles: the full matrix, the API, and narrowing to chosen objects
(django-guardian object permissions), shown on customers."""

import pytest
from django.db import connection

from apps.accounts.access import (
    principal_can_object,
    principal_filter_queryset,
    principal_require_object,
    role_group_name,
    scopable_types,
)
from apps.accounts.exceptions import ObjectPermissionDenied
from apps.accounts.principals import Principal
from apps.accounts.roles import ALL_PERMISSIONS, role_permissions
from apps.settings.models import AuditEvent, Customer
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db


def test_custom_role_takes_the_full_matrix_and_resolves(api, org_a, in_org):
    client = api(org_a)
    every = sorted(ALL_PERMISSIONS - {"organization.delete", "billing.edit"})  # all an Admin key holds
    response = client.post("/api/v1/roles", {"slug": "almost-all", "name": "Almost all", "permissions": every})
    assert response.status_code == 201
    body = response.json()
    assert body["system"] is False and body["permissions"] == every and body["scopes"] == {}
    in_org(org_a)
    assert role_permissions("almost-all") == frozenset(every)
    listed = [r["slug"] for r in client.get("/api/v1/roles").json()["results"]]
    assert listed[:6] == ["owner", "admin", "developer", "operator", "viewer", "end_user"]
    assert "almost-all" in listed


def test_role_input_is_validated(api, org_a):
    client = api(org_a)
    assert_error(
        client.post("/api/v1/roles", {"slug": "x", "name": "X", "permissions": ["nope.view"]}), 400, "invalid_input"
    )
    assert_error(
        client.post("/api/v1/roles", {"slug": "Bad Slug", "name": "X", "permissions": []}), 400, "invalid_input"
    )
    assert_error(
        client.post("/api/v1/roles", {"slug": "x", "name": "X", "permissions": "customers.view"}), 400, "invalid_input"
    )
    assert_error(
        client.post("/api/v1/roles", {"slug": "x", "name": "X", "permissions": [], "color": 1}), 400, "invalid_input"
    )
    assert_error(client.post("/api/v1/roles", raw=b"{nope"), 400, "malformed_json")
    assert client.post("/api/v1/roles", {"slug": "dup", "name": "D", "permissions": []}).status_code == 201
    assert_error(client.post("/api/v1/roles", {"slug": "dup", "name": "D", "permissions": []}), 409, "role_exists")
    assert_error(client.get("/api/v1/roles/missing"), 404, "role_not_found")


def test_a_key_with_a_custom_role_acts_with_its_permissions(api, org_a, role_key):
    api(org_a).post("/api/v1/roles", {"slug": "cust-reader", "name": "Reader", "permissions": ["customers.view"]})
    client = api(org_a, key=role_key(org_a, "cust-reader"))
    assert client.get("/api/v1/customers").status_code == 200
    assert client.get("/api/v1/secrets").status_code == 403
    me = client.get("/api/v1/me").json()
    assert me["role"] == "cust-reader" and me["permissions"] == ["customers.view"]


def test_roles_are_per_organization(api, org_a, org_b):
    api(org_a).post("/api/v1/roles", {"slug": "only-a", "name": "A", "permissions": ["customers.view"]})
    assert_error(api(org_b).get("/api/v1/roles/only-a"), 404, "role_not_found")
    assert_error(
        api(org_b).post("/api/v1/api-keys", {"name": "k", "kind": "test", "role": "only-a"}), 400, "unknown_role"
    )


def test_a_held_role_cannot_be_deleted(api, org_a, role_key):
    client = api(org_a)
    client.post("/api/v1/roles", {"slug": "held", "name": "Held", "permissions": ["customers.view"]})
    role_key(org_a, "held")
    response = client.delete("/api/v1/roles/held")
    assert_error(response, 409, "role_in_use")
    assert response.json()["error"]["details"]["api_keys"] == 1


def test_role_narrowed_to_chosen_customers(api, org_a, role_key, in_org):
    in_org(org_a)
    for external_id in ("c-one", "c-two", "c-three"):
        Customer.objects.create(external_id=external_id, name=external_id)
    assert "customers" in scopable_types()
    response = api(org_a).post(
        "/api/v1/roles",
        {
            "slug": "two-customers",
            "name": "Two customers",
            "permissions": ["customers.view", "customers.edit"],
            "scopes": {"customers": ["c-one", "c-two"]},
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["scopes"] == {"customers": ["c-one", "c-two"]}

    client = api(org_a, key=role_key(org_a, "two-customers"))
    listed = {c["external_id"] for c in client.get("/api/v1/customers").json()["results"]}
    assert listed == {"c-one", "c-two"}
    assert client.get("/api/v1/customers/c-one").status_code == 200
    assert_error(client.get("/api/v1/customers/c-three"), 404, "customer_not_found")
    assert client.patch("/api/v1/customers/c-two", {"name": "Two"}).status_code == 200
    assert client.patch("/api/v1/customers/c-three", {"name": "Three"}).status_code == 404

    # The guardian rows live in the organization's schema, on the role's group.
    in_org(org_a)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM guardian_groupobjectpermission")
        assert cursor.fetchone()[0] == 4  # 2 customers x (view, edit)
        cursor.execute("SELECT count(*) FROM public.guardian_groupobjectpermission")
        assert cursor.fetchone()[0] == 0

    # Widening the scope back to all customers.
    assert api(org_a).patch("/api/v1/roles/two-customers", {"scopes": {}}).json()["scopes"] == {}
    listed = {c["external_id"] for c in client.get("/api/v1/customers").json()["results"]}
    assert {"c-one", "c-two", "c-three"} <= listed


def test_object_permission_api_for_other_apps(org_a, in_org):
    from apps.settings.services import role_create

    in_org(org_a)
    one = Customer.objects.create(external_id="o-1", name="one")
    two = Customer.objects.create(external_id="o-2", name="two")
    owner = Principal.for_member(organization=org_a.organization, user=org_a.owner, role="owner")
    role_create(
        actor=owner, slug="narrow", name="Narrow", permissions=["customers.view"], scopes={"customers": ["o-1"]}
    )
    narrow = Principal(org_a.organization, "narrow", role_permissions("narrow"), "api_key")
    assert principal_can_object(narrow, "customers", "view", one)
    assert not principal_can_object(narrow, "customers", "view", two)
    assert not principal_can_object(narrow, "customers", "edit", one)  # the matrix still applies
    assert list(principal_filter_queryset(narrow, "customers", "view", Customer.objects.all())) == [one]
    assert principal_filter_queryset(narrow, "customers", "delete", Customer.objects.all()).count() == 0
    with pytest.raises(ObjectPermissionDenied):
        principal_require_object(narrow, "customers", "view", two)
    assert AuditEvent.objects.filter(outcome="denied", action="customers.view", resource_id="o-2").exists()
    # System roles are never narrowed.
    assert principal_can_object(owner, "customers", "delete", two)
    assert role_group_name(org_a.organization, "narrow").startswith(f"fastn:{org_a.account_id}:")


def test_scopes_name_real_objects_only(api, org_a):
    response = api(org_a).post(
        "/api/v1/roles",
        {"slug": "ghost", "name": "G", "permissions": ["customers.view"], "scopes": {"customers": ["nobody"]}},
    )
    assert_error(response, 400, "invalid_input")
    response = api(org_a).post(
        "/api/v1/roles",
        {"slug": "ghost", "name": "G", "permissions": ["customers.view"], "scopes": {"planets": ["x"]}},
    )
    assert_error(response, 400, "invalid_input")


def test_roles_page_saves_the_matrix_with_htmx(client, org_a, in_org):
    client.force_login(org_a.owner)
    response = client.post(
        f"/o/{org_a.slug}/settings/roles/",
        {"name": "Support", "slug": "support", "copy_from": "viewer"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "Role Support created." in response.content.decode()
    response = client.post(
        f"/o/{org_a.slug}/settings/roles/support",
        {"perm": ["customers.view", "customers.create"]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200, response.content
    in_org(org_a)
    # The page does not show Agents and Tools (nothing uses them yet): what
    # the role held there (copied from Viewer) is kept, not dropped.
    assert role_permissions("support") == {"customers.view", "customers.create", "agents.view", "tools.view"}
    page = client.get(f"/o/{org_a.slug}/settings/roles/?role=viewer").content.decode()
    assert "system · read-only" in page and "Save role" not in page
