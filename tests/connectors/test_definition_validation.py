"""Connector definitions: the schema, the semantic checks, normalisation."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from apps.connectors.definition import (
    Problem,
    clean_definition,
    definition_schema,
    normalize_definition,
    validate_definition,
)
from apps.connectors.exceptions import DefinitionError


def paths(definition: Any) -> list[str]:
    return [problem.path for problem in validate_definition(definition)]


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(definition_schema())
    assert definition_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_schema_file_is_what_the_module_loads() -> None:
    on_disk = json.loads((Path(__file__).parents[2] / "apps/connectors/definition/schema.json").read_text())
    assert on_disk == definition_schema()


def test_api_md_minimal_shape_validates(minimal: dict[str, Any]) -> None:
    assert validate_definition(minimal) == []


def test_a_wrong_method_names_the_method_path(minimal: dict[str, Any]) -> None:
    minimal["actions"]["getContact"]["method"] = "FETCH"
    problems = validate_definition(minimal)
    assert [p.path for p in problems] == ["$.actions.getContact.method"]
    assert "FETCH" in problems[0].message and "GET" in problems[0].message


def test_lowercase_methods_are_accepted_and_normalised(minimal: dict[str, Any]) -> None:
    minimal["actions"]["getContact"]["method"] = "get"
    assert validate_definition(minimal) == []
    assert normalize_definition(minimal)["actions"]["getContact"]["method"] == "GET"


def test_a_missing_base_url_is_reported_at_its_own_path(minimal: dict[str, Any]) -> None:
    del minimal["base_url"]
    assert paths(minimal) == ["$.base_url"]
    assert validate_definition(minimal)[0].message == "is required"


@pytest.mark.parametrize("slug", ["Acme", "a", "-acme", "acme_crm", "acme crm", "x" * 64, "ÄCME"])
def test_bad_slugs_are_refused(minimal: dict[str, Any], slug: str) -> None:
    minimal["slug"] = slug
    assert paths(minimal) == ["$.slug"]


@pytest.mark.parametrize("slug", ["ab", "acme-crm", "0day", "a" + "b" * 62])
def test_good_slugs_pass(minimal: dict[str, Any], slug: str) -> None:
    minimal["slug"] = slug
    assert validate_definition(minimal) == []


def test_an_unknown_auth_type_is_named(minimal: dict[str, Any]) -> None:
    minimal["auth"] = {"type": "kerberos"}
    problems = validate_definition(minimal)
    assert [p.path for p in problems] == ["$.auth.type"]
    assert "kerberos" in problems[0].message


def test_two_verify_actions_are_refused(minimal: dict[str, Any]) -> None:
    minimal["actions"]["listContacts"]["verify"] = True
    minimal["actions"]["getContact"]["verify"] = True
    problems = validate_definition(minimal)
    assert [p.path for p in problems] == ["$.actions.getContact.verify"]
    assert "listContacts" in problems[0].message


def test_top_level_verify_must_name_an_action(minimal: dict[str, Any]) -> None:
    minimal["verify"] = "whoAmI"
    assert paths(minimal) == ["$.verify"]


def test_top_level_verify_must_agree_with_the_flagged_action(minimal: dict[str, Any]) -> None:
    minimal["verify"] = "listContacts"
    minimal["actions"]["getContact"]["verify"] = True
    assert paths(minimal) == ["$.verify"]


def test_base_url_must_be_http_or_https(minimal: dict[str, Any]) -> None:
    minimal["base_url"] = "ftp://files.acme.example"
    assert paths(minimal) == ["$.base_url"]
    minimal["base_url"] = "api.acme.example"
    assert paths(minimal) == ["$.base_url"]


def test_path_placeholders_must_be_identifiers(minimal: dict[str, Any]) -> None:
    minimal["actions"]["getContact"]["path"] = "/contacts/{contact id}"
    problems = validate_definition(minimal)
    assert [p.path for p in problems] == ["$.actions.getContact.path"]
    assert "{contact id}" in problems[0].message


def test_path_placeholders_must_be_declared_scalars_when_the_schema_lists_params(minimal: dict[str, Any]) -> None:
    action = minimal["actions"]["getContact"]
    action["input_schema"] = {"type": "object", "properties": {"fields": {"type": "string"}}}
    assert paths(minimal) == ["$.actions.getContact.path"]
    action["input_schema"]["properties"]["id"] = {"type": "object"}
    assert paths(minimal) == ["$.actions.getContact.input_schema.properties.id"]
    action["input_schema"]["properties"]["id"] = {"type": ["integer", "string"]}
    assert validate_definition(minimal) == []


def test_unknown_fields_are_named_but_x_extensions_pass(minimal: dict[str, Any]) -> None:
    minimal["actions"]["getContact"]["metod"] = "GET"
    minimal["x-owner"] = "team-crm"
    minimal["actions"]["getContact"]["x-note"] = "fine"
    assert paths(minimal) == ["$.actions.getContact.metod"]


def test_action_names_must_be_javascript_identifiers(minimal: dict[str, Any]) -> None:
    minimal["actions"]["get-contact"] = {"method": "GET", "path": "/x"}
    problems = validate_definition(minimal)
    assert [p.path for p in problems] == ['$.actions["get-contact"]']
    assert "JavaScript identifier" in problems[0].message


def test_oauth2_needs_a_token_url_and_an_authorization_url_for_the_code_grant(minimal: dict[str, Any]) -> None:
    minimal["auth"] = {"type": "oauth2", "authorization_url": "https://acme.example/authorize"}
    assert paths(minimal) == ["$.auth.token_url"]
    minimal["auth"] = {"type": "oauth2", "token_url": "https://acme.example/token"}
    assert paths(minimal) == ["$.auth.authorization_url"]
    minimal["auth"] = {"type": "oauth2", "grant": "client_credentials", "token_url": "https://acme.example/token"}
    assert validate_definition(minimal) == []


def test_api_key_auth_needs_placement_and_name(minimal: dict[str, Any]) -> None:
    minimal["auth"] = {"type": "api_key", "in": "cookie"}
    assert paths(minimal) == ["$.auth.in", "$.auth.name"]


def test_pagination_type_and_required_fields_are_checked(minimal: dict[str, Any]) -> None:
    action = minimal["actions"]["listContacts"]
    action["pagination"] = {"type": "scroll"}
    assert paths(minimal) == ["$.actions.listContacts.pagination.type"]
    action["pagination"] = {"type": "cursor", "cursor_param": "after"}
    assert paths(minimal) == ["$.actions.listContacts.pagination.cursor_path"]
    action["pagination"] = {"type": "cursor", "cursor_param": "after", "cursor_path": "next", "in": "body"}
    assert paths(minimal) == ["$.actions.listContacts.pagination.in"]


def test_polling_must_name_an_existing_action(minimal: dict[str, Any]) -> None:
    minimal["events"] = {"polling": {"action": "listDeals", "id_path": "id"}}
    assert paths(minimal) == ["$.events.polling.action"]
    minimal["events"]["polling"]["action"] = "listContacts"
    assert validate_definition(minimal) == []


def test_webhook_signature_schemes_are_checked(minimal: dict[str, Any]) -> None:
    minimal["events"] = {"webhook": {"signature": {"scheme": "md5"}}}
    assert paths(minimal) == ["$.events.webhook.signature.scheme"]
    minimal["events"] = {"webhook": {"signature": {"scheme": "hmac_sha256"}}}
    assert paths(minimal) == ["$.events.webhook.signature.header"]
    minimal["events"] = {"webhook": {"signature": {"scheme": "github", "payload_format": "{body}"}}}
    assert paths(minimal) == ["$.events.webhook.signature.payload_format"]


def test_connection_templates_must_refer_to_declared_settings(minimal: dict[str, Any]) -> None:
    minimal["base_url"] = "https://{{connection.shop}}.myshopify.com/admin"
    assert paths(minimal) == ["$.base_url"]
    minimal["connection_config"] = {"type": "object", "properties": {"shop": {"type": "string"}}}
    assert validate_definition(minimal) == []


def test_credentials_may_not_be_templated_into_urls(minimal: dict[str, Any]) -> None:
    minimal["base_url"] = "https://api.acme.example/{{credentials.api_key}}"
    problems = validate_definition(minimal)
    assert [p.path for p in problems] == ["$.base_url"]
    assert "credentials" in problems[0].message


def test_malformed_template_expressions_are_reported(minimal: dict[str, Any]) -> None:
    minimal["actions"]["createContact"]["body"] = {"name": "{{param.name}}"}
    assert paths(minimal) == ["$.actions.createContact.body"]


def test_invalid_input_schemas_are_reported_where_they_break(minimal: dict[str, Any]) -> None:
    minimal["actions"]["createContact"]["input_schema"] = {
        "type": "object",
        "properties": {"email": {"type": "text"}, "age": {"minimum": "ten"}},
    }
    assert set(paths(minimal)) <= {
        "$.actions.createContact.input_schema.properties.email.type",
        "$.actions.createContact.input_schema.properties.age.minimum",
    }
    assert paths(minimal)


def test_a_non_object_is_one_problem_at_the_root() -> None:
    assert validate_definition(["not", "an", "object"]) == [
        Problem("$", "A connector definition must be a JSON object")
    ]


def test_normalize_fills_defaults_and_is_idempotent(minimal: dict[str, Any]) -> None:
    minimal["actions"]["getContact"]["verify"] = True
    minimal["auth"] = {
        "type": "oauth2",
        "authorization_url": "https://a.example/auth",
        "token_url": "https://a.example/token",
    }
    minimal["actions"]["listContacts"]["pagination"] = {"type": "page", "page_param": "page"}
    normalized = normalize_definition(minimal)
    assert normalized["verify"] == "getContact"
    assert normalized["actions"]["listContacts"]["verify"] is False
    assert normalized["auth"]["scopes"] == [] and normalized["auth"]["token_prefix"] == "Bearer"
    assert normalized["auth"]["token_auth_method"] == "client_secret_post"
    assert normalized["actions"]["listContacts"]["pagination"]["start"] == 1
    assert "query" not in normalized["actions"]["listContacts"]  # absence has a meaning
    assert normalize_definition(normalized) == normalized
    assert validate_definition(normalized) == []
    assert minimal["actions"]["listContacts"]["pagination"] == {"type": "page", "page_param": "page"}  # input untouched


def test_normalize_fills_signature_defaults(minimal: dict[str, Any]) -> None:
    minimal["events"] = {"webhook": {"signature": {"scheme": "slack"}}}
    signature = normalize_definition(minimal)["events"]["webhook"]["signature"]
    assert signature["header"] == "X-Slack-Signature" and signature["tolerance_seconds"] == 300


def test_clean_definition_raises_with_all_problems(minimal: dict[str, Any]) -> None:
    broken = copy.deepcopy(minimal)
    del broken["name"]
    broken["slug"] = "NO"
    with pytest.raises(DefinitionError) as caught:
        clean_definition(broken)
    assert {p.path for p in caught.value.problems} == {"$.name", "$.slug"}
    assert "$.name" in str(caught.value)
    assert clean_definition(minimal)["auth"]["prefix"] == ""
