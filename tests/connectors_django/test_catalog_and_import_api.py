"""The catalogue through the API (every entry installs and validates) and
OpenAPI imports (the Petstore's exact actions, GitHub's 1,223 operations)."""

import gzip
import json
from pathlib import Path

import pytest

from apps.connectors.catalog import load_catalog
from apps.connectors.definition import validate_definition
from apps.connectors.models import Connector, ConnectorVersion
from tests.core.test_errors import assert_error

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "connectors" / "fixtures"
CATALOG = sorted(load_catalog())


def test_catalog_lists_every_entry_with_categories(api, org_a):
    body = api(org_a).get("/api/v1/catalog").json()
    assert len(body["results"]) == len(CATALOG) >= 30
    assert {e["slug"] for e in body["results"]} == set(CATALOG)
    assert "crm" in body["categories"]
    hubspot = next(e for e in body["results"] if e["slug"] == "hubspot")
    assert hubspot["auth_type"] == "oauth2" and hubspot["installed"] is False


def test_catalog_search_and_category_filter(api, org_a):
    client = api(org_a)
    assert [e["slug"] for e in client.get("/api/v1/catalog?search=hubspot").json()["results"]] == ["hubspot"]
    crm = client.get("/api/v1/catalog?category=crm").json()["results"]
    assert crm and all("crm" in e["categories"] for e in crm)
    assert client.get("/api/v1/catalog?search=zzzz-nothing").json()["results"] == []


def test_catalog_entry_detail_and_unknown_entry(api, org_a):
    client = api(org_a)
    body = client.get("/api/v1/catalog/stripe").json()
    assert body["definition"]["base_url"] == "https://api.stripe.com/v1"
    assert body["connect"]["credential_fields"][0]["name"] == "token"
    assert any(a["name"] == "createCustomer" for a in body["actions"])
    assert_error(client.get("/api/v1/catalog/not-a-connector"), 404, "catalog_entry_not_found")
    assert_error(client.post("/api/v1/catalog/not-a-connector/install"), 404, "catalog_entry_not_found")


@pytest.mark.parametrize("slug", CATALOG)
def test_every_catalog_entry_installs_and_validates(api, org_a, in_org, slug):
    response = api(org_a).post(f"/api/v1/catalog/{slug}/install")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == slug and body["source"] == "catalog" and body["version"] == 1
    assert validate_definition(body["definition"]) == []
    in_org(org_a)
    connector = Connector.objects.get(slug=slug)
    assert connector.catalog_slug == slug
    assert ConnectorVersion.objects.filter(connector=connector, number=1).exists()


def test_installing_twice_is_409_unless_upgrading(api, org_a):
    client = api(org_a)
    assert client.post("/api/v1/catalog/github/install").status_code == 201
    assert_error(client.post("/api/v1/catalog/github/install"), 409, "connector_exists")
    # The installed copy is the organization's: change it, then take the catalogue's back.
    client.patch("/api/v1/connectors/github", {"name": "Our GitHub"})
    upgraded = client.post("/api/v1/catalog/github/install", {"upgrade": True})
    assert upgraded.status_code == 200
    assert upgraded.json()["version"] == 3 and upgraded.json()["name"] == "GitHub"
    listed = client.get("/api/v1/catalog?search=github").json()["results"][0]
    assert listed["installed"] is True and listed["installed_version"] == 3
    assert_error(client.post("/api/v1/catalog/github/install", {"upgrade": "yes"}), 400)
    assert_error(client.post("/api/v1/catalog/github/install", {"other": 1}), 400)


def test_installed_connectors_belong_to_one_organization(api, org_a, org_b):
    api(org_a).post("/api/v1/catalog/slack/install")
    assert api(org_b).get("/api/v1/connectors").json()["results"] == []
    assert api(org_b).get("/api/v1/catalog?search=slack").json()["results"][0]["installed"] is False


# --- OpenAPI import ---------------------------------------------------------------


def test_petstore_yaml_imports_with_its_exact_actions(api, org_a):
    raw = (FIXTURES / "petstore.yaml").read_bytes()
    response = api(org_a).post("/api/v1/connectors/import-openapi", raw=raw, content_type="application/yaml")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "swagger-petstore" and body["source"] == "openapi"
    actions = {a["name"]: (a["method"], a["path"]) for a in body["actions"]}
    assert actions == {
        "listPets": ("GET", "/pets"),
        "createPets": ("POST", "/pets"),
        "showPetById": ("GET", "/pets/{petId}"),
    }
    assert body["definition"]["base_url"] == "http://petstore.swagger.io/v1"
    assert "limit" in body["definition"]["actions"]["listPets"]["input_schema"]["properties"]


def test_petstore_imports_as_a_json_wrapper_with_slug_and_name(api, org_a):
    text = (FIXTURES / "petstore.yaml").read_text()
    body = {"document": text, "slug": "pets", "name": "Pets", "base_url": "https://pets.example/v1"}
    response = api(org_a).post("/api/v1/connectors/import-openapi", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["slug"], created["name"]) == ("pets", "Pets")
    assert created["definition"]["base_url"] == "https://pets.example/v1"
    assert_error(api(org_a).post("/api/v1/connectors/import-openapi", body), 409, "connector_exists")
    replaced = api(org_a).post("/api/v1/connectors/import-openapi", {**body, "replace": True, "name": "Pets 2"})
    assert replaced.status_code == 200 and replaced.json()["version"] == 2


def test_yaml_body_takes_options_from_the_query(api, org_a):
    raw = (FIXTURES / "petstore.yaml").read_bytes()
    response = api(org_a).post(
        "/api/v1/connectors/import-openapi?slug=pets-q&name=Query+Pets", raw=raw, content_type="text/yaml"
    )
    assert response.status_code == 201, response.content
    assert (response.json()["slug"], response.json()["name"]) == ("pets-q", "Query Pets")


def test_github_description_imports_gzip_compressed(api, org_a, in_org):
    compressed = (FIXTURES / "github-api.openapi.json.gz").read_bytes()
    response = api(org_a).post(
        "/api/v1/connectors/import-openapi?slug=github-rest&name=GitHub+REST",
        raw=compressed,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert response.status_code == 201, response.content[:500]
    body = response.json()
    assert body["slug"] == "github-rest" and body["action_count"] == 1223
    assert body["definition"]["base_url"] == "https://api.github.com"
    actions = {a["name"]: a for a in body["actions"]}
    assert actions["reposGet"]["path"] == "/repos/{owner}/{repo}" and actions["reposGet"]["method"] == "GET"
    # Lists stay small: they never carry definitions.
    listed = api(org_a).get("/api/v1/connectors").json()["results"][0]
    assert listed["action_count"] == 1223 and "definition" not in listed


@pytest.mark.parametrize(
    "body, code",
    [
        ({"document": {"swagger": "2.0", "info": {"title": "Old"}, "paths": {}}}, "openapi_import_failed"),
        ({"document": {"openapi": "3.0.0", "info": {"title": "Empty"}, "paths": {}}}, "openapi_import_failed"),
        ({"document": "not: [valid"}, "openapi_import_failed"),
        ({"document": 12}, "invalid_input"),
        ({"document": {"openapi": "3.0.0"}, "colour": "blue"}, "invalid_input"),
        ({"document": {"openapi": "3.0.0"}, "slug": 5}, "invalid_input"),
    ],
)
def test_bad_documents_are_400(api, org_a, body, code):
    assert_error(api(org_a).post("/api/v1/connectors/import-openapi", body), 400, code)


def test_bad_import_bodies_are_400(api, org_a):
    client = api(org_a)
    assert_error(client.post("/api/v1/connectors/import-openapi", raw=b"{not json"), 400, "malformed_json")
    assert_error(client.post("/api/v1/connectors/import-openapi", raw=b"[]"), 400, "invalid_body")
    assert_error(client.post("/api/v1/connectors/import-openapi", raw=b"not gzip", HTTP_CONTENT_ENCODING="gzip"), 400)
    assert_error(
        client.post("/api/v1/connectors/import-openapi", raw=b"x", content_type="application/xml"),
        415,
        "unsupported_media_type",
    )


def test_decompressed_size_is_capped(api, org_a, settings):
    settings.FASTN_OPENAPI_MAX_BYTES = 1000
    bomb = gzip.compress(json.dumps({"openapi": "3.0.0", "padding": "x" * 100_000}).encode())
    response = api(org_a).post(
        "/api/v1/connectors/import-openapi", raw=bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )
    assert_error(response, 413, "payload_too_large")


def test_import_needs_create_permission(api, org_a, role_key):
    viewer = api(org_a, key=role_key(org_a, "viewer"))
    assert_error(viewer.post("/api/v1/connectors/import-openapi", {"document": {}}), 403)
