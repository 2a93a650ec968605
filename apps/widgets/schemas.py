"""The JSON Schema of a template's customer settings: checking the schema
itself, filling its defaults, checking a customer's settings against it."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from apps.core.errors import InvalidInput

MAX_SCHEMA_BYTES = 64 * 1024
MAX_CONFIG_BYTES = 64 * 1024


def config_schema_check(schema: Any, *, field: str = "config_schema") -> dict | None:
    """A usable JSON Schema (Draft 2020-12) with an object at its root, or None.

    Remote `$ref`s are never fetched (jsonschema resolves only what the
    schema holds), so a schema cannot make the server call out."""
    if schema is None:
        return None
    if not isinstance(schema, dict):
        raise InvalidInput.for_field(field, "Must be a JSON Schema object.")
    if len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
        raise InvalidInput.for_field(field, f"May be at most {MAX_SCHEMA_BYTES} bytes.")
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        where = ".".join(str(p) for p in exc.absolute_path)
        raise InvalidInput.for_field(f"{field}.{where}" if where else field, f"Not a valid JSON Schema: {exc.message}")
    if schema.get("type", "object") != "object":
        raise InvalidInput.for_field(f"{field}.type", 'The settings are a JSON object: use "type": "object".')
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise InvalidInput.for_field(f"{field}.properties", "Must be an object.")
    return schema


def config_with_defaults(schema: dict | None, config: dict) -> dict:
    """`config` with the top-level `default`s of the schema filled in where a
    property is missing (what the widget's form shows pre-filled)."""
    values = copy.deepcopy(config)
    for name, spec in ((schema or {}).get("properties") or {}).items():
        if name not in values and isinstance(spec, dict) and "default" in spec:
            values[name] = copy.deepcopy(spec["default"])
    return values


def config_validate(schema: dict | None, config: Any) -> dict:
    """The customer's settings if they fit the schema; else InvalidInput naming
    `config.<path>` (the missing property for `required`)."""
    if not isinstance(config, dict):
        raise InvalidInput.for_field("config", "Must be a JSON object.")
    if len(json.dumps(config)) > MAX_CONFIG_BYTES:
        raise InvalidInput.for_field("config", f"May be at most {MAX_CONFIG_BYTES} bytes.")
    if schema is None:
        return config
    error = jsonschema.exceptions.best_match(Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return config
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = next(
            (n for n in error.validator_value if isinstance(error.instance, dict) and n not in error.instance), ""
        )
        path.append(str(missing))
        message = "This setting is required."
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set((error.schema or {}).get("properties") or {})
        extra = sorted(k for k in error.instance if k not in allowed)
        path.append(extra[0] if extra else "")
        message = "This setting is not known."
    else:
        message = error.message
    field = ".".join(["config", *[p for p in path if p]])
    raise InvalidInput(f"{field}: {message}", code="invalid_config", details={"fields": {field: [message]}})
