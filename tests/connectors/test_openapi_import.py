"""OpenAPI 3 import: the Petstore exactly, edge cases, and GitHub's full spec."""

from __future__ import annotations

import copy
import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.connectors.definition import validate_definition
from apps.connectors.exceptions import OpenAPIImportError
from apps.connectors.executor import build_request
from apps.connectors.openapi_import import import_openapi, operation_name

FIXTURES = Path(__file__).parent / "fixtures"
PETSTORE = (FIXTURES / "petstore.yaml").read_text(encoding="utf-8")


def spec(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Test API", "version": "2.0"},
        "servers": [{"url": "https://api.test.example/v1"}],
        "paths": paths,
    }
    document.update(extra)
    return document


# --------------------------------------------------------------------------
# Petstore
# --------------------------------------------------------------------------


def test_petstore_imports_with_exact_actions_and_params() -> None:
    definition = import_openapi(PETSTORE)
    assert validate_definition(definition) == []
    assert definition["slug"] == "swagger-petstore" and definition["name"] == "Swagger Petstore"
    assert definition["base_url"] == "http://petstore.swagger.io/v1"
    assert definition["version"] == "1.0.0"
    assert definition["auth"] == {"type": "none"}
    assert list(definition["actions"]) == ["listPets", "createPets", "showPetById"]

    list_pets = definition["actions"]["listPets"]
    assert (list_pets["method"], list_pets["path"], list_pets["description"]) == ("GET", "/pets", "List all pets")
    assert list_pets["query"] == {"limit": "{{params.limit}}"}
    assert list_pets["input_schema"] == {
        "type": "object",
        "properties": {
            "limit": {
                "type": "integer",
                "maximum": 100,
                "format": "int32",
                "description": "How many items to return at one time (max 100)",
            }
        },
    }

    create = definition["actions"]["createPets"]
    assert (create["method"], create["path"]) == ("POST", "/pets")
    assert create["input_schema"]["properties"] == {
        "id": {"type": "integer", "format": "int64"},
        "name": {"type": "string"},
        "tag": {"type": "string"},
    }
    assert create["input_schema"]["required"] == ["id", "name"]
    assert "body" not in create  # the properties are the body

    show = definition["actions"]["showPetById"]
    assert (show["method"], show["path"]) == ("GET", "/pets/{petId}")
    assert show["input_schema"]["properties"]["petId"]["type"] == "string"
    assert show["input_schema"]["required"] == ["petId"]


def test_petstore_requests_build_as_the_spec_says() -> None:
    definition = import_openapi(PETSTORE)
    create = build_request(definition, "createPets", {"id": 1, "name": "Rex"})
    assert create.url == "http://petstore.swagger.io/v1/pets" and create.body == {"id": 1, "name": "Rex"}
    listing = build_request(definition, "listPets", {"limit": 5})
    assert listing.query == [("limit", "5")]
    show = build_request(definition, "showPetById", {"petId": "a/b"})
    assert show.url.endswith("/pets/a%2Fb")


def test_json_yaml_bytes_and_dict_inputs_give_the_same_result() -> None:
    as_dict = yaml.safe_load(PETSTORE)
    expected = import_openapi(as_dict)
    assert import_openapi(json.dumps(as_dict)) == expected
    assert import_openapi(PETSTORE.encode("utf-8")) == expected
    assert import_openapi("\ufeff" + PETSTORE) == expected
    assert import_openapi(as_dict, slug="pets", name="Pets")["slug"] == "pets"


# --------------------------------------------------------------------------
# Names, parameters, bodies
# --------------------------------------------------------------------------


def test_operation_names() -> None:
    assert operation_name(None, "get", "/pets/{petId}") == "getPetsPetId"
    assert operation_name("repos/get-content", "get", "/x") == "reposGetContent"
    assert operation_name("list_pets", "get", "/x") == "listPets"
    assert operation_name("2fa.enable", "post", "/x") == "_2faEnable"
    assert operation_name("---", "delete", "/items/{id}") == "deleteItemsId"


def test_duplicate_names_are_numbered() -> None:
    definition = import_openapi(
        spec(
            {
                "/a": {"get": {"operationId": "fetch", "responses": {}}},
                "/b": {
                    "get": {"operationId": "fetch", "responses": {}},
                    "post": {"operationId": "fetch", "responses": {}},
                },
            }
        )
    )
    assert list(definition["actions"]) == ["fetch", "fetch2", "fetch3"]


def test_parameters_of_every_kind(tmp_path: Path) -> None:
    definition = import_openapi(
        spec(
            {
                "/orgs/{org.id}/items": {
                    "parameters": [{"name": "org.id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "get": {
                        "operationId": "listItems",
                        "parameters": [
                            {"name": "page[size]", "in": "query", "schema": {"type": "integer"}},
                            {"name": "$filter", "in": "query", "required": True, "schema": {"type": "string"}},
                            {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}},
                            {"name": "session", "in": "cookie", "schema": {"type": "string"}},
                            {"$ref": "#/components/parameters/Limit"},
                        ],
                        "responses": {},
                    },
                }
            },
            components={
                "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 50}}}
            },
        )
    )
    action = definition["actions"]["listItems"]
    assert action["path"] == "/orgs/{org_id}/items"
    assert action["query"] == {
        "page[size]": "{{params.page[size]}}",
        "$filter": "{{params.$filter}}",
        "limit": "{{params.limit}}",
    }
    assert action["headers"] == {"X-Request-Id": "{{params.X-Request-Id}}"}
    assert set(action["input_schema"]["properties"]) == {"org_id", "page[size]", "$filter", "X-Request-Id", "limit"}
    assert action["input_schema"]["required"] == ["org_id", "$filter"]
    request = build_request(
        definition, "listItems", {"org_id": "o1", "$filter": "x", "page[size]": 10, "X-Request-Id": "r"}
    )
    assert request.url == "https://api.test.example/v1/orgs/o1/items"
    assert request.query == [("page[size]", "10"), ("$filter", "x")]
    assert request.headers["X-Request-Id"] == "r"


def test_non_object_and_colliding_bodies_become_a_body_parameter() -> None:
    definition = import_openapi(
        spec(
            {
                "/tags": {
                    "put": {
                        "operationId": "setTags",
                        "requestBody": {
                            "required": True,
                            "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}},
                        },
                        "responses": {},
                    }
                },
                "/items/{id}": {
                    "patch": {
                        "operationId": "patchItem",
                        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                        "requestBody": {
                            "content": {
                                "application/merge-patch+json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                                    }
                                }
                            }
                        },
                        "responses": {},
                    }
                },
            }
        )
    )
    tags = definition["actions"]["setTags"]
    assert tags["body"] == "{{params.body}}" and tags["input_schema"]["required"] == ["body"]
    assert build_request(definition, "setTags", {"body": ["a", "b"]}).body == ["a", "b"]
    patch = definition["actions"]["patchItem"]
    assert patch["body"] == "{{params.body}}"  # "id" is both a path parameter and a body field


def test_form_bodies_keep_their_content_type() -> None:
    definition = import_openapi(
        spec(
            {
                "/tokens": {
                    "post": {
                        "operationId": "createToken",
                        "requestBody": {
                            "content": {
                                "application/x-www-form-urlencoded": {
                                    "schema": {"type": "object", "properties": {"grant_type": {"type": "string"}}}
                                }
                            }
                        },
                        "responses": {},
                    }
                }
            }
        )
    )
    assert definition["actions"]["createToken"]["content_type"] == "form"


def test_openapi_30_schema_quirks_become_json_schema() -> None:
    document = spec(
        {
            "/things": {
                "post": {
                    "operationId": "createThing",
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}
                    },
                    "responses": {},
                }
            }
        },
        components={
            "schemas": {
                "Thing": {
                    "type": "object",
                    "required": [],
                    "properties": {
                        "note": {"type": "string", "nullable": True, "example": "hi", "x-internal": 1},
                        "size": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                        "flag": {"type": "boolean", "required": True},
                        "upload": {"type": "file"},
                        "code": {"type": "string", "pattern": "(unclosed"},
                    },
                }
            }
        },
    )
    document["openapi"] = "3.0.3"
    properties = import_openapi(document)["actions"]["createThing"]["input_schema"]["properties"]
    assert properties["note"] == {"type": ["string", "null"]}
    assert properties["size"] == {"type": "number", "exclusiveMinimum": 0}
    assert properties["flag"] == {"type": "boolean"}
    assert properties["upload"] == {}
    assert properties["code"] == {"type": "string"}


def test_recursive_refs_are_cut_and_huge_schemas_are_bounded() -> None:
    node = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    }
    wide = {"type": "object", "properties": {f"field{i}": {"$ref": "#/components/schemas/Node"} for i in range(500)}}
    definition = import_openapi(
        spec(
            {
                "/tree": {
                    "post": {
                        "operationId": "saveTree",
                        "requestBody": {
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}
                        },
                        "responses": {},
                    }
                },
                "/wide": {
                    "post": {
                        "operationId": "saveWide",
                        "requestBody": {
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Wide"}}}
                        },
                        "responses": {},
                    }
                },
            },
            components={"schemas": {"Node": node, "Wide": wide}},
        )
    )
    children = definition["actions"]["saveTree"]["input_schema"]["properties"]["children"]
    assert "recursive reference to Node" in children["items"]["description"]
    wide_schema = definition["actions"]["saveWide"]["input_schema"]
    assert "truncated" in wide_schema["description"]
    assert len(json.dumps(wide_schema)) < 300_000


def test_security_schemes_become_auth() -> None:
    oauth = {
        "type": "oauth2",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": "https://auth.test.example/authorize",
                "tokenUrl": "/oauth/token",
                "scopes": {"read": "Read", "write": "Write"},
            },
            "clientCredentials": {"tokenUrl": "https://auth.test.example/token", "scopes": {}},
        },
    }
    cases: list[tuple[dict[str, Any], list[dict[str, Any]] | None, dict[str, Any]]] = [
        (
            {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
            None,
            {"type": "api_key", "in": "header", "name": "X-API-Key"},
        ),
        (
            {"key": {"type": "apiKey", "in": "query", "name": "api_key"}},
            None,
            {"type": "api_key", "in": "query", "name": "api_key"},
        ),
        ({"jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}, None, {"type": "bearer"}),
        ({"pw": {"type": "http", "scheme": "Basic"}}, None, {"type": "basic"}),
        (
            {"oauth": oauth},
            [{"oauth": ["read"]}],
            {
                "type": "oauth2",
                "grant": "authorization_code",
                "authorization_url": "https://auth.test.example/authorize",
                "token_url": "https://api.test.example/oauth/token",
                "scopes": ["read"],
            },
        ),
        (
            {"cookie": {"type": "apiKey", "in": "cookie", "name": "sid"}, "jwt": {"type": "http", "scheme": "bearer"}},
            [{"cookie": []}],
            {"type": "bearer"},  # the first *supported* scheme wins
        ),
        (
            {"oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://x/.well-known/openid-configuration"}},
            None,
            {"type": "none"},
        ),
    ]
    for schemes, security, expected in cases:
        document = spec(
            {"/me": {"get": {"operationId": "me", "responses": {}}}}, components={"securitySchemes": schemes}
        )
        if security is not None:
            document["security"] = security
        definition = import_openapi(document)
        assert definition["auth"] == expected
        assert validate_definition(definition) == []
    client_only = copy.deepcopy(oauth)
    del client_only["flows"]["authorizationCode"]
    definition = import_openapi(
        spec({"/me": {"get": {"responses": {}}}}, components={"securitySchemes": {"m2m": client_only}})
    )
    assert definition["auth"]["grant"] == "client_credentials"


def test_server_variables_use_their_defaults_and_relative_servers_need_base_url() -> None:
    document = spec(
        {"/x": {"get": {"responses": {}}}},
        servers=[
            {
                "url": "https://{region}.api.test.example/{version}",
                "variables": {"region": {"default": "eu"}, "version": {"default": "v3"}},
            }
        ],
    )
    assert import_openapi(document)["base_url"] == "https://eu.api.test.example/v3"
    relative = spec({"/x": {"get": {"responses": {}}}}, servers=[{"url": "/api/v3"}])
    with pytest.raises(OpenAPIImportError, match="base_url"):
        import_openapi(relative)
    assert (
        import_openapi(relative, base_url="https://petstore3.example/api/v3/")["base_url"]
        == "https://petstore3.example/api/v3"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"swagger": "2.0", "info": {}, "paths": {}}', "Swagger 2.0"),
        ("openapi: 4.0.0\npaths: {}", "3.0 or 3.1"),
        ('{"openapi": "3.0.0", "info": {"title": "x"}, "servers": [{"url": "https://x.example"}]}', "no paths"),
        (
            '{"openapi": "3.0.0", "info": {"title": "x"}, "servers": [{"url": "https://x.example"}], "paths": {}}',
            "no operations",
        ),
        ("{not json", "not valid JSON"),
        ("- just\n- a list", "JSON or YAML object"),
        ("key: [unclosed", "neither JSON nor valid YAML"),
        ("", "empty"),
        (b"\xff\xfe\x00", "UTF-8"),
    ],
)
def test_bad_documents_get_a_clear_error(document: str | bytes, message: str) -> None:
    with pytest.raises(OpenAPIImportError, match=message):
        import_openapi(document)


# --------------------------------------------------------------------------
# A large real-world spec
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def github_spec() -> bytes:
    return gzip.decompress((FIXTURES / "github-api.openapi.json.gz").read_bytes())


def test_githubs_rest_api_imports_quickly_and_validly(github_spec: bytes) -> None:
    # CPU time, not wall time: the budget must hold on a machine busy with other work.
    started = time.process_time()
    definition = import_openapi(github_spec, slug="github-rest", name="GitHub REST")
    elapsed = time.process_time() - started
    assert elapsed < 5, f"import took {elapsed:.1f} s of CPU"
    source = json.loads(github_spec)
    operations = sum(
        1
        for item in source["paths"].values()
        for method in item
        if method in ("get", "put", "post", "delete", "options", "head", "patch")
    )
    assert len(definition["actions"]) == operations == 1223
    assert definition["base_url"] == "https://api.github.com"
    assert validate_definition(definition) == []
    assert len(json.dumps(definition)) < 5_000_000  # bounded output

    get_content = definition["actions"]["reposGetContent"]
    assert get_content["path"] == "/repos/{owner}/{repo}/contents/{path}"
    assert get_content["query"] == {"ref": "{{params.ref}}"}
    assert get_content["input_schema"]["required"] == ["owner", "repo", "path"]
    request = build_request(
        definition, "issuesCreate", {"owner": "octo", "repo": "hello", "title": "Bug", "labels": ["bug"]}
    )
    assert request.method == "POST" and request.url == "https://api.github.com/repos/octo/hello/issues"
    assert request.body == {"title": "Bug", "labels": ["bug"]}
