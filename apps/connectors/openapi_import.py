"""Turn an OpenAPI 3.0/3.1 document into a connector definition.

* One action per operation, named after its ``operationId`` made into a
  JavaScript identifier (``repos/get-content`` -> ``reposGetContent``), or
  after method and path (``GET /pets/{petId}`` -> ``getPetsPetId``);
  duplicates get a number.
* Path, query and header parameters and the JSON (or form) request body
  become the action's ``input_schema``. An object body's properties become
  top-level parameters (the executor sends the leftovers as the body);
  any other body is one ``body`` parameter.
* Local ``$ref``s are inlined with cycle protection, a depth limit and a node
  budget per action, so a huge or self-referencing spec gives bounded output.
  OpenAPI 3.0 schema quirks (``nullable``, boolean ``exclusiveMinimum``) are
  converted to JSON Schema 2020-12.
* ``servers[0]`` (variables at their defaults) is the base URL; the first
  supported security scheme is the auth.

Swagger 2.0 documents are refused with a message saying so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final
from urllib.parse import unquote, urljoin, urlsplit

import yaml

from apps.connectors.definition import METHODS_WITHOUT_BODY, validate_definition
from apps.connectors.exceptions import OpenAPIImportError

__all__ = ["import_openapi", "operation_name"]

HTTP_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch")
MAX_SCHEMA_NODES: Final = 2000  # per action input schema
MAX_SCHEMA_DEPTH: Final = 10
MAX_DESCRIPTION: Final = 4000
_TEMPLATE_NAME_RE: Final = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$\-\[\]]*$")
_PLACEHOLDER_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_OPENAPI_PATH_PARAM_RE: Final = re.compile(r"\{([^{}]+)\}")

# Schema keywords whose value is a schema, a list of schemas, or a map of them.
_SCHEMA_KEYWORDS: Final = frozenset(
    {
        "items",
        "not",
        "additionalProperties",
        "contains",
        "if",
        "then",
        "else",
        "propertyNames",
        "unevaluatedProperties",
        "unevaluatedItems",
    }
)
_SCHEMA_LIST_KEYWORDS: Final = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_MAP_KEYWORDS: Final = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
# OpenAPI annotations that are not JSON Schema, or only bulk for a connector.
_DROPPED_KEYWORDS: Final = frozenset({"example", "examples", "xml", "externalDocs", "discriminator", "nullable"})
_JSON_TYPES: Final = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
_COUNT_KEYWORDS: Final = frozenset(
    {"maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties", "maxContains", "minContains"}
)


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


def _parse(document: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(document, Mapping):
        return dict(document)
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise OpenAPIImportError("The document is not UTF-8 text") from None
    text = document.lstrip("\ufeff")
    if not text.strip():
        raise OpenAPIImportError("The document is empty")
    data: Any
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise OpenAPIImportError(f"The document is not valid JSON: {exc}") from None
    else:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster
        try:
            data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            raise OpenAPIImportError(f"The document is neither JSON nor valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise OpenAPIImportError("The document must be a JSON or YAML object")
    return data


# --------------------------------------------------------------------------
# $ref resolution
# --------------------------------------------------------------------------


class _Budget:
    def __init__(self, nodes: int) -> None:
        self.nodes = nodes
        self.truncated = False

    def spend(self) -> bool:
        self.nodes -= 1
        if self.nodes < 0:
            self.truncated = True
            return False
        return True


class _Resolver:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def lookup(self, ref: str) -> Any:
        """The value a local ``$ref`` points to, or ``None``."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None  # remote references are not fetched
        node: Any = self.document
        for raw in ref[1:].split("/")[1:]:
            key = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return None
        return node

    def follow(self, node: Any) -> Any:
        """Follow ``$ref`` chains of non-schema objects (parameters, bodies)."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen or len(seen) > 20:
                return None
            seen.add(ref)
            node = self.lookup(ref)
        return node

    def schema(self, node: Any, budget: _Budget, depth: int = 0, stack: tuple[str, ...] = ()) -> Any:
        """A JSON Schema 2020-12 copy of an OpenAPI schema with local refs inlined."""
        if isinstance(node, bool):
            return node
        if not isinstance(node, Mapping):
            return {}
        if depth > MAX_SCHEMA_DEPTH or not budget.spend():
            budget.truncated = True
            return {"description": "(schema truncated)"}
        if "$ref" in node:
            ref = node["$ref"]
            name = str(ref).rsplit("/", 1)[-1]
            if ref in stack:
                return {"description": f"(recursive reference to {name})"}
            target = self.lookup(ref)
            if target is None:
                return {"description": f"(unresolved reference {ref})"}
            resolved = self.schema(target, budget, depth + 1, (*stack, ref))
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if siblings and isinstance(resolved, dict):
                # OpenAPI 3.1 allows keywords next to $ref (description, ...)
                resolved = {**resolved, **self.schema(siblings, budget, depth + 1, stack)}
            return resolved

        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED_KEYWORDS or (isinstance(key, str) and key.startswith("x-")):
                continue
            if key in _SCHEMA_KEYWORDS:
                out[key] = self.schema(value, budget, depth + 1, stack)
            elif key in _SCHEMA_LIST_KEYWORDS and isinstance(value, list):
                out[key] = [self.schema(item, budget, depth + 1, stack) for item in value]
            elif key in _SCHEMA_MAP_KEYWORDS and isinstance(value, Mapping):
                out[key] = {str(k): self.schema(v, budget, depth + 1, stack) for k, v in value.items()}
            elif key == "description" and isinstance(value, str):
                out[key] = value[:500]
            else:
                out[key] = value  # enum, const, default, type, format, bounds...
        _to_json_schema(out, nullable=bool(node.get("nullable")))
        return out


def _to_json_schema(schema: dict[str, Any], *, nullable: bool) -> None:
    """OpenAPI 3.0 -> JSON Schema 2020-12, in place."""
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        flag = schema.get(exclusive)
        if isinstance(flag, bool):
            del schema[exclusive]
            if flag and bound in schema:
                schema[exclusive] = schema.pop(bound)
    if nullable and "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if "null" not in types:
            schema["type"] = [*types, "null"]
    # Real-world specs hold mistakes a validator would later choke on
    # ("required: true" on a property, "type: file" from Swagger 2, a bad
    # regex); drop what is malformed instead of refusing the whole document.
    required = schema.get("required")
    if "required" in schema and not (isinstance(required, list) and all(isinstance(r, str) for r in required)):
        del schema["required"]
    elif isinstance(required, list):
        schema["required"] = list(dict.fromkeys(required))
    if "type" in schema:
        raw_types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        types = list(dict.fromkeys(t for t in raw_types if t in _JSON_TYPES))
        if not types:
            del schema["type"]
        else:
            schema["type"] = types[0] if len(types) == 1 else types
    if "pattern" in schema:
        try:
            re.compile(schema["pattern"])
        except (re.error, TypeError):
            del schema["pattern"]
    if "enum" in schema and not isinstance(schema["enum"], list):
        del schema["enum"]
    for keyword in _COUNT_KEYWORDS & schema.keys():
        value = schema[keyword]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            del schema[keyword]


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------


def _camel(raw: str) -> str:
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", raw) if p]
    if not parts:
        return ""
    name = parts[0] + "".join(p[0].upper() + p[1:] for p in parts[1:])
    return "_" + name if name[0].isdigit() else name


def operation_name(operation_id: str | None, method: str, path: str) -> str:
    """The action name for an operation (before deduplication)."""
    name = _camel(operation_id or "") or _camel(f"{method.lower()}_{path}") or method.lower()
    return name[:120]


def _slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")
    if len(slug) < 2:
        slug = f"api-{slug}".strip("-") if slug else "imported-api"
    return slug


def _unique(name: str, used: set[str]) -> str:
    candidate, counter = name, 2
    while candidate in used:
        candidate = f"{name}{counter}"
        counter += 1
    used.add(candidate)
    return candidate


def _param_name(raw: str, pattern: re.Pattern[str], used: set[str]) -> str:
    name = raw if pattern.match(raw) else (re.sub(r"[^A-Za-z0-9_]", "_", raw) or "param")
    if not pattern.match(name):
        name = "_" + name
    return _unique(name, used)


# --------------------------------------------------------------------------
# Pieces of the definition
# --------------------------------------------------------------------------


def _base_url(document: Mapping[str, Any], override: str | None) -> str:
    if override:
        return override.rstrip("/")
    servers = document.get("servers") or []
    server = servers[0] if isinstance(servers, list) and servers and isinstance(servers[0], Mapping) else None
    if server is None or not isinstance(server.get("url"), str):
        raise OpenAPIImportError("The document has no servers[0].url; pass base_url=")
    url = server["url"]
    for name, variable in (server.get("variables") or {}).items():
        default = variable.get("default") if isinstance(variable, Mapping) else None
        if default is None:
            raise OpenAPIImportError(f"servers[0] variable {name!r} has no default; pass base_url=")
        url = url.replace("{" + str(name) + "}", str(default))
    url = str(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise OpenAPIImportError(f"servers[0].url {url!r} is not an absolute http(s) URL; pass base_url=")
    return url.rstrip("/")


def _auth(document: Mapping[str, Any], resolver: _Resolver, base_url: str) -> dict[str, Any]:
    schemes = resolver.follow((document.get("components") or {}).get("securitySchemes")) or {}
    if not isinstance(schemes, Mapping):
        return {"type": "none"}
    wanted: dict[str, list[str]] = {}
    for requirement in document.get("security") or []:
        if isinstance(requirement, Mapping):
            for name, scopes in requirement.items():
                wanted.setdefault(name, list(scopes or []))
    ordered = [*wanted, *(name for name in schemes if name not in wanted)]
    for name in ordered:
        scheme = resolver.follow(schemes.get(name))
        if isinstance(scheme, Mapping):
            auth = _auth_from_scheme(scheme, wanted.get(name) or [], base_url)
            if auth is not None:
                return auth
    return {"type": "none"}


def _auth_from_scheme(scheme: Mapping[str, Any], scopes: list[str], base_url: str) -> dict[str, Any] | None:
    kind = scheme.get("type")
    if kind == "apiKey" and scheme.get("in") in ("header", "query") and scheme.get("name"):
        return {"type": "api_key", "in": scheme["in"], "name": str(scheme["name"])}
    if kind == "http":
        http_scheme = str(scheme.get("scheme", "")).lower()
        if http_scheme == "bearer":
            return {"type": "bearer"}
        if http_scheme == "basic":
            return {"type": "basic"}
        return None
    if kind == "oauth2":
        flows = scheme.get("flows") or {}
        code_flow = flows.get("authorizationCode")
        if isinstance(code_flow, Mapping) and code_flow.get("authorizationUrl") and code_flow.get("tokenUrl"):
            auth = {
                "type": "oauth2",
                "grant": "authorization_code",
                "authorization_url": urljoin(base_url + "/", str(code_flow["authorizationUrl"])),
                "token_url": urljoin(base_url + "/", str(code_flow["tokenUrl"])),
                "scopes": scopes or list(code_flow.get("scopes") or {}),
            }
            return auth
        credentials_flow = flows.get("clientCredentials")
        if isinstance(credentials_flow, Mapping) and credentials_flow.get("tokenUrl"):
            return {
                "type": "oauth2",
                "grant": "client_credentials",
                "token_url": urljoin(base_url + "/", str(credentials_flow["tokenUrl"])),
                "scopes": scopes or list(credentials_flow.get("scopes") or {}),
            }
    return None


def _operations(
    document: Mapping[str, Any], resolver: _Resolver
) -> Iterator[tuple[str, str, Mapping[str, Any], list[Any]]]:
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        raise OpenAPIImportError("The document has no paths object")
    for path, item in paths.items():
        item = resolver.follow(item)
        if not isinstance(item, Mapping) or not isinstance(path, str):
            continue
        shared = item.get("parameters") or []
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, Mapping):
                yield path, method, operation, list(shared)


def _merged_parameters(shared: list[Any], own: list[Any], resolver: _Resolver) -> list[Mapping[str, Any]]:
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for raw in [*shared, *own]:
        parameter = resolver.follow(raw)
        if isinstance(parameter, Mapping) and parameter.get("name") and parameter.get("in"):
            merged[(str(parameter["name"]), str(parameter["in"]))] = parameter
    return list(merged.values())


def _body_media(operation: Mapping[str, Any], resolver: _Resolver) -> tuple[str | None, Any, bool]:
    """(content_type, schema, required) of the request body we can send."""
    body = resolver.follow(operation.get("requestBody"))
    if not isinstance(body, Mapping):
        return None, None, False
    content = body.get("content") or {}
    if not isinstance(content, Mapping):
        return None, None, False
    for media, spec in content.items():
        base = str(media).split(";", 1)[0].strip().lower()
        if base == "application/json" or base.endswith("+json"):
            return "json", (spec or {}).get("schema", {}), bool(body.get("required"))
    for media, spec in content.items():
        if str(media).split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded":
            return "form", (spec or {}).get("schema", {}), bool(body.get("required"))
    return None, None, False


def _action(
    path: str,
    method: str,
    operation: Mapping[str, Any],
    shared: list[Any],
    resolver: _Resolver,
) -> dict[str, Any]:
    budget = _Budget(MAX_SCHEMA_NODES)
    properties: dict[str, Any] = {}
    required: list[str] = []
    used: set[str] = set()
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    renamed_path = path

    parameters = _merged_parameters(shared, operation.get("parameters") or [], resolver)
    for parameter in (p for p in parameters if p["in"] == "path"):
        original = str(parameter["name"])
        name = _param_name(original, _PLACEHOLDER_NAME_RE, used)
        if name != original:
            renamed_path = renamed_path.replace("{" + original + "}", "{" + name + "}")
        properties[name] = _parameter_schema(parameter, resolver, budget)
        required.append(name)
    # A placeholder the spec forgot to declare still needs a parameter.
    for original in _OPENAPI_PATH_PARAM_RE.findall(renamed_path):
        if original not in properties:
            name = _param_name(original, _PLACEHOLDER_NAME_RE, used)
            renamed_path = renamed_path.replace("{" + original + "}", "{" + name + "}")
            properties[name] = {"type": "string"}
            required.append(name)
    for location, target in (("query", query), ("header", headers)):
        for parameter in (p for p in parameters if p["in"] == location):
            original = str(parameter["name"])
            if location == "header" and original.lower() in ("accept", "content-type", "authorization"):
                continue  # set by the executor
            name = _param_name(original, _TEMPLATE_NAME_RE, used)
            properties[name] = _parameter_schema(parameter, resolver, budget)
            target[original] = "{{params." + name + "}}"
            if parameter.get("required"):
                required.append(name)

    action: dict[str, Any] = {"method": method.upper(), "path": renamed_path}
    description = operation.get("summary") or operation.get("description")
    if isinstance(description, str) and description.strip():
        action["description"] = description.strip()[:MAX_DESCRIPTION]
    if operation.get("deprecated") is True:
        action["deprecated"] = True

    content_type, body_schema, body_required = _body_media(operation, resolver)
    if content_type is not None:
        schema = resolver.schema(body_schema, budget)
        body_properties = schema.get("properties") if isinstance(schema, dict) else None
        can_spread = (
            method.upper() not in METHODS_WITHOUT_BODY
            and isinstance(body_properties, dict)
            and body_properties
            and not (set(body_properties) & used)
            and schema.get("type", "object") == "object"
        )
        if can_spread:
            # The executor sends the parameters no template uses as the body.
            assert isinstance(body_properties, dict)
            properties.update(body_properties)
            if body_required:
                required.extend(r for r in schema.get("required", []) if r in body_properties)
        else:
            name = _unique("body", used)
            properties[name] = schema
            action["body"] = "{{params." + name + "}}"
            if body_required:
                required.append(name)
        if content_type == "form":
            action["content_type"] = "form"

    if query:
        action["query"] = query
    if headers:
        action["headers"] = headers
    input_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        input_schema["required"] = list(dict.fromkeys(required))
    if budget.truncated:
        input_schema["description"] = "Parts of this schema were truncated on import."
    action["input_schema"] = input_schema
    return action


def _parameter_schema(parameter: Mapping[str, Any], resolver: _Resolver, budget: _Budget) -> Any:
    schema = parameter.get("schema")
    if schema is None:
        # 3.x allows content instead of schema for complex parameters.
        content = parameter.get("content") or {}
        first: Any = next(iter(content.values()), {}) if isinstance(content, Mapping) else {}
        schema = first.get("schema", {"type": "string"}) if isinstance(first, Mapping) else {"type": "string"}
    resolved = resolver.schema(schema, budget)
    if isinstance(resolved, dict) and isinstance(parameter.get("description"), str):
        resolved.setdefault("description", parameter["description"][:500])
    return resolved


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def import_openapi(
    document: str | bytes | Mapping[str, Any],
    *,
    slug: str | None = None,
    name: str | None = None,
    base_url: str | None = None,
) -> dict[str, Any]:
    """A connector definition from an OpenAPI 3.x document (JSON/YAML text or parsed).

    ``slug`` and ``name`` default to ones derived from ``info.title``;
    ``base_url`` overrides ``servers[0]`` (needed when it is relative).
    Raises :class:`OpenAPIImportError` naming what is wrong. The result
    validates against the connector schema.
    """
    data = _parse(document)
    if "swagger" in data:
        raise OpenAPIImportError(
            f"This is a Swagger {data.get('swagger')} document; only OpenAPI 3.0 and 3.1 are supported. "
            "Convert it first (for example with swagger2openapi)."
        )
    version = data.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        raise OpenAPIImportError(f"The 'openapi' field must name version 3.0 or 3.1, not {version!r}")
    info: Mapping[str, Any] = data["info"] if isinstance(data.get("info"), Mapping) else {}
    title = str(info.get("title") or "Imported API").strip()[:120] or "Imported API"

    resolver = _Resolver(data)
    resolved_base = _base_url(data, base_url)
    actions: dict[str, Any] = {}
    used_names: set[str] = set()
    for path, method, operation, shared in _operations(data, resolver):
        action_name = _unique(operation_name(operation.get("operationId"), method, path), used_names)
        actions[action_name] = _action(path, method, operation, shared, resolver)
    if not actions:
        raise OpenAPIImportError("The document has no operations under paths")

    definition: dict[str, Any] = {
        "slug": slug or _slugify(title),
        "name": name or title,
        "base_url": resolved_base,
        "auth": _auth(data, resolver, resolved_base),
        "actions": actions,
    }
    summary = info.get("summary") or info.get("description")
    if isinstance(summary, str) and summary.strip():
        definition["description"] = summary.strip()[:MAX_DESCRIPTION]
    if info.get("version") is not None:
        definition["version"] = str(info["version"])[:40]
    docs = data.get("externalDocs")
    if (
        isinstance(docs, Mapping)
        and isinstance(docs.get("url"), str)
        and docs["url"].startswith(("http://", "https://"))
    ):
        definition["docs_url"] = docs["url"]

    problems = validate_definition(definition)
    if problems:
        shown = "; ".join(str(p) for p in problems[:5])
        raise OpenAPIImportError(f"The imported definition is not valid: {shown}")
    return definition
