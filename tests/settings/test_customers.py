import pytest

from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db


def test_create_list_get_update_delete_customer(api, org_a):
    client = api(org_a)
    created = client.post("/api/v1/customers", {"external_id": "cust-1", "name": "Cust One", "region": "eu"})
    assert created.status_code == 201
    body = created.json()
    assert body["external_id"] == "cust-1" and body["tier"] == "standard" and body["region"] == "eu"

    listed = client.get("/api/v1/customers").json()
    assert [c["external_id"] for c in listed["results"]] == ["cust-1"]
    assert client.get("/api/v1/customers/cust-1").json()["name"] == "Cust One"

    patched = client.patch("/api/v1/customers/cust-1", {"tier": "gold"})
    assert patched.status_code == 200 and patched.json()["tier"] == "gold"
    assert client.delete("/api/v1/customers/cust-1").status_code == 204
    assert_error(client.get("/api/v1/customers/cust-1"), 404, "customer_not_found")


def test_duplicate_external_id_is_409(api, org_a):
    client = api(org_a)
    assert client.post("/api/v1/customers", {"external_id": "dup", "name": "A"}).status_code == 201
    error = assert_error(client.post("/api/v1/customers", {"external_id": "dup", "name": "B"}), 409, "customer_exists")
    assert "dup" in error["message"]


def test_same_external_id_in_two_organizations_is_fine(api, org_a, org_b):
    assert api(org_a).post("/api/v1/customers", {"external_id": "shared", "name": "A"}).status_code == 201
    assert api(org_b).post("/api/v1/customers", {"external_id": "shared", "name": "B"}).status_code == 201
    assert api(org_a).get("/api/v1/customers/shared").json()["name"] == "A"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x"}, "external_id"),
        ({"external_id": "x"}, "name"),
        ({"external_id": "has space", "name": "x"}, "external_id"),
        ({"external_id": "a/b", "name": "x"}, "external_id"),
        ({"external_id": "x" * 256, "name": "x"}, "external_id"),
        ({"external_id": "x", "name": "x", "region": "mars"}, "region"),
        ({"external_id": "x", "name": "x", "region": 1}, "region"),
        ({"external_id": "x", "name": "x", "tier": "Gold Tier"}, "tier"),
        ({"external_id": "x", "name": "x", "metadata": [1]}, "metadata"),
        ({"external_id": "x", "name": None}, "name"),
    ],
)
def test_bad_customer_input_names_the_field(api, org_a, body, field):
    error = assert_error(api(org_a).post("/api/v1/customers", body), 400, "invalid_input")
    assert field in error["details"]["fields"]


def test_customers_paginate_newest_first_with_a_cursor(api, org_a):
    client = api(org_a)
    for i in range(5):
        client.post("/api/v1/customers", {"external_id": f"p{i}", "name": f"P{i}"})
    first = client.get("/api/v1/customers", {"limit": 2}).json()
    assert [c["external_id"] for c in first["results"]] == ["p4", "p3"]
    assert first["has_more"]
    second = client.get("/api/v1/customers", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["external_id"] for c in second["results"]] == ["p2", "p1"]
    assert_error(client.get("/api/v1/customers", {"cursor": "garbage!"}), 400, "invalid_input")
    assert_error(client.get("/api/v1/customers", {"limit": "0"}), 400, "invalid_input")


def test_customer_search_filters(api, org_a):
    client = api(org_a)
    client.post("/api/v1/customers", {"external_id": "acme-1", "name": "Acme Inc"})
    client.post("/api/v1/customers", {"external_id": "globex", "name": "Globex"})
    found = client.get("/api/v1/customers", {"search": "acme"}).json()["results"]
    assert [c["external_id"] for c in found] == ["acme-1"]


def test_other_organization_cannot_touch_a_customer(api, org_a, org_b):
    api(org_a).post("/api/v1/customers", {"external_id": "mine", "name": "Mine"})
    assert_error(api(org_b).get("/api/v1/customers/mine"), 404)
    assert_error(api(org_b).patch("/api/v1/customers/mine", {"name": "Stolen"}), 404)
    assert_error(api(org_b).delete("/api/v1/customers/mine"), 404)
    assert api(org_a).get("/api/v1/customers/mine").json()["name"] == "Mine"
