"""Connector definitions: validation against ``schema.json`` plus the checks a
JSON Schema cannot express, and normalisation (defaults filled in).

The format is documented in ``apps/connectors/catalog/README.md``.

* :func:`validate_definition` never raises for bad input: it returns a list
  of :class:`Problem` (empty when valid), each naming a JSON path such as
  ``$.actions.getContact.method``.
* :func:`normalize_definition` returns a new dict with every default filled
  in; code that runs definitions reads only normalised ones.
* :func:`clean_definition` does both and raises :class:`DefinitionError`.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import jsonschema
from jsonschema import Draft202012Validator

from apps.connectors.exceptions import DefinitionError
from apps.connectors.signatures import SCHEME_DEFAULTS
from apps.connectors.templating import EXPRESSION_RE, malformed_expressions, references

__all__ = [
    "METHODS_WITHOUT_BODY",
    "PLACEHOLDER_RE",
    "SLUG_RE",
    "Problem",
    "clean_definition",
    "definition_head",
    "definition_schema",
    "json_path",
    "normalize_definition",
    "path_placeholders",
    "validate_definition",
]

SLUG_RE: Final = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# {name} fills one path segment (URL-encoded); {+name} may span segments.
PLACEHOLDER_RE: Final = re.compile(r"(?<!\{)\{(\+?)([A-Za-z_][A-Za-z0-9_-]*)\}(?!\})")
_LOOSE_PLACEHOLDER_RE: Final = re.compile(r"\{([^{}]*)\}")
METHODS_WITHOUT_BODY: Final = frozenset({"GET", "DELETE", "HEAD", "OPTIONS"})
_SCALAR_TYPES: Final = frozenset({"string", "integer", "number", "boolean"})


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a definition: where (a JSON path) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


_IDENTIFIER_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(parts: Any) -> str:
    """``["actions", "getContact", "method"]`` -> ``$.actions.getContact.method``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER_RE.match(str(part)):
            out += f".{part}"
        else:
            out += "[" + json.dumps(str(part)) + "]"
    return out


@functools.cache
def definition_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a connector definition."""
    with (Path(__file__).parent / "schema.json").open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@functools.cache
def _validator() -> Draft202012Validator:
    schema = definition_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def validate_definition(data: Any) -> list[Problem]:
    """Every problem with ``data`` as a connector definition, sorted by path."""
    if not isinstance(data, Mapping):
        return [Problem("$", "A connector definition must be a JSON object")]
    problems = set(_schema_problems(data))
    problems.update(_semantic_problems(data))
    return sorted(problems)


def _schema_problems(data: Mapping[str, Any]) -> Iterator[Problem]:
    for error in _validator().iter_errors(data):
        yield from _explain(error)


def _explain(error: jsonschema.ValidationError) -> Iterator[Problem]:
    """Turn a jsonschema error into problems pointing at the offending key."""
    path = list(error.absolute_path)
    if error.validator in ("allOf", "anyOf", "oneOf") and error.context:
        # if/then and anyOf report at the parent; the inner errors are the useful ones.
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None and best is not error:
            yield from _explain(best)
            return
    if error.validator == "required" and isinstance(error.instance, Mapping):
        for name in error.validator_value:
            if name not in error.instance:
                yield Problem(json_path([*path, name]), "is required")
        return
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        for name in error.instance:
            if name not in allowed and not any(p.search(name) for p in patterns):
                yield Problem(json_path([*path, name]), "is not a known field")
        return
    if error.validator == "not" and error.validator_value == {}:
        yield Problem(json_path(path), "is not allowed here")
        return
    if "propertyNames" in error.relative_schema_path and isinstance(error.instance, str):
        # jsonschema reports a bad key at its parent object; point at the key.
        what = "an action name (a JavaScript identifier)" if path == ["actions"] else "a name allowed here"
        yield Problem(json_path([*path, error.instance]), f"is not {what}")
        return
    if error.validator == "pattern" and path and path[-1] == "slug":
        yield Problem(
            json_path(path), "must be 2-63 lowercase letters, digits or dashes, starting with a letter or digit"
        )
        return
    if error.validator == "enum":
        choices = ", ".join(str(c) for c in _dedupe_case(error.validator_value))
        yield Problem(json_path(path), f"{error.instance!r} is not one of: {choices}")
        return
    yield Problem(json_path(path), error.message)


def _dedupe_case(values: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for value in values:
        key = str(value).upper()
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _semantic_problems(data: Mapping[str, Any]) -> Iterator[Problem]:
    actions = _mapping(data.get("actions"))
    connection_config = _mapping(data.get("connection_config"))
    config_fields = set(_mapping(connection_config.get("properties")))
    auth = _mapping(data.get("auth"))

    if isinstance(data.get("base_url"), str):
        yield from _check_url(data["base_url"], ["base_url"])
    yield from _check_schema_value(data.get("connection_config"), ["connection_config"])
    yield from _check_templates(data.get("headers"), ["headers"], config_fields, allow_credentials=True)
    yield from _check_templates(data.get("base_url"), ["base_url"], config_fields, allow_credentials=False)

    for key in ("authorization_url", "token_url", "revoke_url"):
        if isinstance(auth.get(key), str):
            yield from _check_url(auth[key], ["auth", key])
            yield from _check_templates(auth[key], ["auth", key], config_fields, allow_credentials=False)
    revocation = _mapping(auth.get("revocation"))
    if isinstance(revocation.get("url"), str):
        where = ["auth", "revocation", "url"]
        yield from _check_url(revocation["url"], where)
        yield from _check_templates(
            revocation["url"], where, config_fields, allow_credentials=False, declared_params=REVOCATION_PARAMS
        )
    for key in ("headers", "query", "username", "password"):
        yield from _check_templates(auth.get(key), ["auth", key], config_fields, allow_credentials=True)
    yield from _check_schema_value(auth.get("credentials_schema"), ["auth", "credentials_schema"])
    for field_name in {**_mapping(auth.get("connection_from_token")), **_mapping(auth.get("connection_from_callback"))}:
        if field_name not in config_fields:
            yield Problem(
                json_path(["auth", "connection_from_token"]),
                f"connection field {field_name!r} is not declared in connection_config",
            )

    verify_actions = []
    for name, action in actions.items():
        if not isinstance(action, Mapping):
            continue
        yield from _action_problems(name, action, config_fields)
        if action.get("verify") is True:
            verify_actions.append(name)
    if len(verify_actions) > 1:
        for name in verify_actions[1:]:
            yield Problem(
                json_path(["actions", name, "verify"]),
                f"only one action can verify credentials; {verify_actions[0]!r} already does",
            )
    top_verify = data.get("verify")
    if isinstance(top_verify, str):
        if top_verify not in actions:
            yield Problem("$.verify", f"names no action: {top_verify!r}")
        elif verify_actions and verify_actions[0] != top_verify:
            yield Problem("$.verify", f"says {top_verify!r} but action {verify_actions[0]!r} is marked verify")

    events = _mapping(data.get("events"))
    polling = _mapping(events.get("polling"))
    if isinstance(polling.get("action"), str) and polling["action"] not in actions:
        yield Problem("$.events.polling.action", f"names no action: {polling['action']!r}")


def _check_url(url: str, where: list[Any]) -> Iterator[Problem]:
    # A URL that starts with a template gets its origin from the connection
    # (Salesforce instance_url); it is checked when the call is made.
    if url.lstrip().startswith("{{"):
        return
    probe = EXPRESSION_RE.sub("x", url)
    try:
        parts = urlsplit(probe)
    except ValueError:
        yield Problem(json_path(where), "is not a URL")
        return
    if parts.scheme not in ("http", "https"):
        yield Problem(json_path(where), "must be an http or https URL")
    elif not parts.netloc:
        yield Problem(json_path(where), "has no host")


@functools.cache
def _schema_shape_validator() -> Draft202012Validator:
    with (Path(__file__).parent / "json_schema_shape.json").open(encoding="utf-8") as handle:
        shape = json.load(handle)
    return Draft202012Validator(shape, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _check_schema_value(schema: Any, where: list[Any]) -> Iterator[Problem]:
    """Problems with a JSON Schema embedded in the definition (input_schema, ...).

    Checked against ``json_schema_shape.json`` rather than the official
    metaschema: same keyword checks for what Fastn evaluates, a hundred times
    faster on imported APIs with thousands of actions.
    """
    if schema is None:
        return
    if not isinstance(schema, (Mapping, bool)):
        yield Problem(json_path(where), "must be a JSON Schema object")
        return
    error = jsonschema.exceptions.best_match(_schema_shape_validator().iter_errors(schema))
    if error is not None:
        yield Problem(json_path([*where, *error.absolute_path]), f"is not a valid JSON Schema: {error.message}")


def _check_templates(
    template: Any,
    where: list[Any],
    config_fields: set[str],
    *,
    allow_credentials: bool,
    declared_params: set[str] | None = None,
) -> Iterator[Problem]:
    if template is None:
        return
    for bad in malformed_expressions(template):
        yield Problem(json_path(where), f"{bad} is not a template expression ({{{{params.x}}}}, {{{{connection.x}}}})")
    for scope, path in references(template):
        first = path.split(".", 1)[0] if path else ""
        if scope == "connection":
            if not first:
                yield Problem(json_path(where), "{{connection}} needs a field name")
            elif first not in config_fields:
                yield Problem(json_path(where), f"connection field {first!r} is not declared in connection_config")
        elif scope == "credentials":
            if not allow_credentials:
                yield Problem(json_path(where), "credentials cannot be used here (they would leak into URLs)")
            elif not first:
                yield Problem(json_path(where), "{{credentials}} needs a field name")
        elif scope == "params" and declared_params is not None and first and first not in declared_params:
            yield Problem(json_path(where), f"parameter {first!r} is not declared in input_schema")


def path_placeholders(path: str) -> list[tuple[bool, str]]:
    """``(keeps_slashes, name)`` for each ``{name}`` / ``{+name}`` in a path."""
    without_templates = EXPRESSION_RE.sub("", path)
    return [(plus == "+", name) for plus, name in PLACEHOLDER_RE.findall(without_templates)]


def _action_problems(name: str, action: Mapping[str, Any], config_fields: set[str]) -> Iterator[Problem]:
    where = ["actions", name]
    method = str(action.get("method", "")).upper()
    schema = action.get("input_schema")
    yield from _check_schema_value(schema, [*where, "input_schema"])
    properties = _mapping(_mapping(schema).get("properties"))
    closed = isinstance(schema, Mapping) and schema.get("additionalProperties") is False
    declared = set(properties) if closed else None

    path = action.get("path")
    if isinstance(path, str):
        without_templates = EXPRESSION_RE.sub("", path)
        for match in _LOOSE_PLACEHOLDER_RE.finditer(without_templates):
            if not PLACEHOLDER_RE.fullmatch(match.group(0)):
                yield Problem(json_path([*where, "path"]), f"{match.group(0)} is not a valid placeholder ({{name}})")
        for _plus, placeholder in path_placeholders(path):
            if properties and placeholder not in properties:
                yield Problem(
                    json_path([*where, "path"]),
                    f"placeholder {{{placeholder}}} is not a parameter in input_schema",
                )
            elif placeholder in properties:
                declared_type = _mapping(properties[placeholder]).get("type")
                types = set(declared_type) if isinstance(declared_type, list) else {declared_type}
                if declared_type is not None and not types & _SCALAR_TYPES:
                    yield Problem(
                        json_path([*where, "input_schema", "properties", placeholder]),
                        "a path parameter must be a string or a number",
                    )
        yield from _check_templates(
            path, [*where, "path"], config_fields, allow_credentials=False, declared_params=declared
        )
    if isinstance(action.get("base_url"), str):
        yield from _check_url(action["base_url"], [*where, "base_url"])
        yield from _check_templates(action["base_url"], [*where, "base_url"], config_fields, allow_credentials=False)

    for key in ("query", "headers", "body"):
        yield from _check_templates(
            action.get(key), [*where, key], config_fields, allow_credentials=True, declared_params=declared
        )
    if action.get("content_type") == "form" and "body" in action and not isinstance(action["body"], (Mapping, str)):
        yield Problem(json_path([*where, "body"]), "a form body must be an object")

    pagination = _mapping(action.get("pagination"))
    if pagination.get("in") == "body" and method in METHODS_WITHOUT_BODY:
        yield Problem(json_path([*where, "pagination", "in"]), f"{method} requests have no body to page with")


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------

_OAUTH2_DEFAULTS: Final[dict[str, Any]] = {
    "grant": "authorization_code",
    "scopes": [],
    "scope_separator": " ",
    "pkce": False,
    "extra_authorize_params": {},
    "extra_token_params": {},
    "token_auth_method": "client_secret_post",
    "refresh": True,
    "token_header": "Authorization",
    "token_prefix": "Bearer",
    "connection_from_token": {},
    "connection_from_callback": {},
}
# What a revocation URL template may name: {{params.token}}, {{params.client_id}}.
REVOCATION_PARAMS: Final = frozenset({"token", "client_id"})


def _normalize_revocation(auth: dict[str, Any]) -> None:
    """`auth.revocation` with its defaults; `revoke_url` alone means RFC 7009's."""
    revocation = auth.get("revocation")
    if revocation is None:
        if not auth.get("revoke_url"):
            return
        revocation = auth["revocation"] = {"url": auth["revoke_url"]}
    revocation.setdefault("method", "POST")
    revocation.setdefault("token", "refresh_token")
    revocation.setdefault("token_param", "token")
    revocation.setdefault("body", "form")
    revocation.setdefault("auth", auth["token_auth_method"])
    revocation.setdefault("token_type_hint", revocation["token_param"] == "token" and revocation["body"] != "none")
    revocation.setdefault("extra_params", {})


_PAGINATION_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "cursor": {"in": "query", "cursor_source": "response"},
    "page": {"in": "query", "start": 1},
    "offset": {"in": "query", "start": 0},
    "link_header": {},
    "next_url": {},
}


def normalize_definition(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a (valid) definition with every default made explicit.

    Idempotent. Leaves ``query``/``body`` of actions absent when they are
    absent: their absence means "parameters go to the default place".
    """
    out: dict[str, Any] = copy.deepcopy(dict(data))
    out.setdefault("description", "")
    out.setdefault("version", "1")
    out.setdefault("categories", [])
    out.setdefault("headers", {})
    config = out.setdefault("connection_config", {})
    config.setdefault("type", "object")
    config.setdefault("properties", {})
    out["base_url"] = str(out["base_url"]).rstrip("/")

    auth = out.setdefault("auth", {"type": "none"})
    kind = auth.get("type", "none")
    if kind == "api_key":
        auth.setdefault("prefix", "")
    elif kind == "bearer":
        auth.setdefault("header", "Authorization")
        auth.setdefault("prefix", "Bearer")
    elif kind == "basic":
        auth.setdefault("username", "{{credentials.username}}")
        auth.setdefault("password", "{{credentials.password}}")
    elif kind == "oauth2":
        for key, value in _OAUTH2_DEFAULTS.items():
            auth.setdefault(key, copy.deepcopy(value))
        _normalize_revocation(auth)
    elif kind == "custom":
        auth.setdefault("headers", {})
        auth.setdefault("query", {})

    verify = out.get("verify")
    for name, action in out["actions"].items():
        action["method"] = str(action["method"]).upper()
        action.setdefault("description", "")
        action.setdefault("content_type", "json")
        if action.get("verify") and not verify:
            verify = name
        pagination = action.get("pagination")
        if isinstance(pagination, dict):
            defaults: dict[str, Any] = _PAGINATION_DEFAULTS.get(pagination.get("type", ""), {})
            for key, value in defaults.items():
                pagination.setdefault(key, value)
    if verify:
        out["verify"] = verify
        for name, action in out["actions"].items():
            action["verify"] = name == verify

    events = out.get("events")
    if isinstance(events, dict):
        signature = _mapping(events.get("webhook")).get("signature")
        if isinstance(signature, dict):
            for key, value in SCHEME_DEFAULTS.get(signature.get("scheme", ""), {}).items():
                signature.setdefault(key, value)
        polling = events.get("polling")
        if isinstance(polling, dict):
            polling.setdefault("interval_seconds", 300)
    return out


def definition_head(data: Mapping[str, Any]) -> dict[str, Any]:
    """A (valid) definition normalised without its actions, with ``verify``
    naming the verify action: what connecting and authenticating need, cheap
    even for an imported API with thousands of actions."""
    head = normalize_definition({**data, "actions": {}})
    head["verify"] = data.get("verify") or next(
        (name for name, action in (data.get("actions") or {}).items() if action.get("verify") is True), None
    )
    return head


def clean_definition(data: Any) -> dict[str, Any]:
    """Validate and normalise; raise :class:`DefinitionError` listing the problems."""
    problems = validate_definition(data)
    if problems:
        raise DefinitionError(problems)
    return normalize_definition(data)
