"""Connection credentials: their shape per auth type, encryption at rest, and
which of their values must be hidden from traces, logs and run output.

Credentials are one JSON object per connection, encrypted as a whole with
`apps.core.crypto` (Fernet, rotatable keys). Nothing here logs or returns a
credential value in an error message: errors name the field only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import jsonschema
from jsonschema import Draft202012Validator

from apps.connectors.exceptions import ConnectionConfigError, InvalidCredentials
from apps.connectors.executor import connection_values, credential_secrets
from apps.connectors.oauth import expiry_epoch
from apps.connectors.templating import references
from apps.core import crypto
from apps.core.errors import InvalidInput

MAX_CREDENTIALS_BYTES: Final = 32 * 1024
MAX_CONFIG_BYTES: Final = 16 * 1024
# Token fields that say how a token works, not what it is.
_NOT_SECRET: Final = frozenset({"token_type", "scope", "expires_at", "expires_in"})
_SECRET_HINTS: Final = ("token", "secret", "password", "key", "signature")


@dataclass(frozen=True)
class CredentialField:
    """One value a person types to connect (for forms and the API's description)."""

    name: str
    label: str
    secret: bool = True
    required: bool = True
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "secret": self.secret,
            "required": self.required,
            "description": self.description,
        }


# --------------------------------------------------------------------------
# Encryption
# --------------------------------------------------------------------------


def credentials_encrypt(credentials: Mapping[str, Any]) -> str:
    return crypto.encrypt(json.dumps(dict(credentials), separators=(",", ":")))


def credentials_decrypt(ciphertext: str) -> dict[str, Any]:
    if not ciphertext:
        return {}
    value = json.loads(crypto.decrypt(ciphertext))
    return value if isinstance(value, dict) else {}


def secret_values(credentials: Mapping[str, Any]) -> list[str]:
    """The strings of `credentials` that are secret: everything but token
    metadata (type, scope, expiry), and in a token answer's `extra` only the
    fields that look like secrets (`id_token`, `webhook_secret`...)."""
    visible = {k: v for k, v in credentials.items() if k not in _NOT_SECRET and k != "extra"}
    found = credential_secrets(visible)
    extra = credentials.get("extra")
    if isinstance(extra, Mapping):
        hinted = {k: v for k, v in extra.items() if any(hint in str(k).lower() for hint in _SECRET_HINTS)}
        found += credential_secrets(hinted)
    return list(dict.fromkeys(value for value in found if len(value) >= 4))


# --------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------


def _referenced_credentials(*templates: Any) -> list[str]:
    names: list[str] = []
    for template in templates:
        for scope, path in references(template):
            first = path.split(".", 1)[0] if path else ""
            if scope == "credentials" and first and first not in names:
                names.append(first)
    return names


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize().replace("Api ", "API ").replace("Id", "ID")


def credential_fields(definition: Mapping[str, Any]) -> list[CredentialField]:
    """What a person enters to connect, from the (normalised) auth section.

    OAuth 2.0 authorisation-code connectors have none: the customer signs in
    at the provider instead (tokens obtained elsewhere may still be sent to
    the API as `access_token`...).
    """
    auth = definition.get("auth") or {"type": "none"}
    kind = auth.get("type", "none")
    if kind == "api_key":
        return [CredentialField("api_key", "API key")]
    if kind == "bearer":
        return [CredentialField("token", "Token")]
    if kind == "oauth2":
        if auth.get("grant") == "client_credentials":
            return [
                CredentialField("client_id", "Client ID", secret=False, required=False),
                CredentialField("client_secret", "Client secret", required=False),
            ]
        return []
    if kind in ("basic", "custom"):
        schema = auth.get("credentials_schema") or {}
        properties = schema.get("properties") or {}
        if properties:
            required = set(schema.get("required") or [])
            return [
                CredentialField(
                    name,
                    str((spec or {}).get("title") or _label(name)),
                    secret=name not in ("username", "email", "account", "user"),
                    required=name in required,
                    description=str((spec or {}).get("description") or ""),
                )
                for name, spec in properties.items()
            ]
        templates = (
            [auth.get("username"), auth.get("password")]
            if kind == "basic"
            else [auth.get("headers"), auth.get("query")]
        )
        return [
            CredentialField(name, _label(name), secret=name not in ("username", "email"))
            for name in _referenced_credentials(*templates)
        ]
    return []


def _fail(field: str, message: str) -> InvalidCredentials:
    name = f"credentials.{field}" if field else "credentials"
    return InvalidCredentials(f"{name}: {message}", details={"fields": {name: [message]}})


def _check_strings(credentials: Mapping[str, Any], allow_numbers: Iterable[str] = ()) -> None:
    numbers = set(allow_numbers)
    for key, value in credentials.items():
        if not isinstance(key, str) or not key or len(key) > 64:
            raise _fail("", "Field names must be 1 to 64 characters.")
        if key in numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
            continue
        if key == "extra" and isinstance(value, Mapping):
            continue
        if not isinstance(value, str):
            raise _fail(key, "Must be a string.")


def _require(credentials: Mapping[str, Any], *names: str) -> None:
    for name in names:
        value = credentials.get(name)
        if not isinstance(value, str) or not value.strip():
            raise _fail(name, "This credential is required.")


def credentials_check(definition: Mapping[str, Any], credentials: Any) -> dict[str, Any]:
    """The credentials if they have the shape the connector's auth needs, else
    InvalidCredentials naming the field. `definition` is normalised."""
    if not isinstance(credentials, Mapping):
        raise _fail("", "Must be a JSON object.")
    credentials = dict(credentials)
    if len(json.dumps(credentials)) > MAX_CREDENTIALS_BYTES:
        raise _fail("", f"Credentials may be at most {MAX_CREDENTIALS_BYTES} bytes.")
    auth = definition.get("auth") or {"type": "none"}
    kind = auth.get("type", "none")
    if kind == "none":
        if credentials:
            raise _fail("", "This connector needs no credentials.")
        return credentials
    if kind == "oauth2":
        _check_strings(credentials, allow_numbers=("expires_at", "expires_in"))
        if auth.get("grant") == "client_credentials":
            if ("client_id" in credentials) != ("client_secret" in credentials):
                raise _fail(
                    "client_secret" if "client_id" in credentials else "client_id",
                    "Give both client_id and client_secret.",
                )
            if "client_id" in credentials:
                _require(credentials, "client_id", "client_secret")
            return credentials
        _require(credentials, "access_token")
        if "expires_at" in credentials and expiry_epoch(credentials["expires_at"]) is None:
            raise _fail("expires_at", "Use epoch seconds or an ISO 8601 time.")
        return credentials
    _check_strings(credentials)
    if kind == "api_key":
        _require(credentials, "api_key")
    elif kind == "bearer":
        if not any(
            isinstance(credentials.get(n), str) and credentials[n].strip() for n in ("token", "access_token", "api_key")
        ):
            raise _fail("token", "This credential is required.")
    else:
        schema = auth.get("credentials_schema")
        if schema:
            error = jsonschema.exceptions.best_match(Draft202012Validator(schema).iter_errors(credentials))
            if error is not None:
                if error.validator == "required":
                    missing = next((n for n in error.validator_value if n not in credentials), "")
                    raise _fail(missing, "This credential is required.")
                where = ".".join(str(p) for p in error.absolute_path)
                raise _fail(where, "Has the wrong type or format.")
        else:
            templates = (
                [auth.get("username"), auth.get("password")]
                if kind == "basic"
                else [auth.get("headers"), auth.get("query")]
            )
            _require(credentials, *_referenced_credentials(*templates))
    return credentials


def config_check(definition: Mapping[str, Any], config: Any, *, require: bool) -> dict[str, Any]:
    """The connection's settings (shop, subdomain...) if they fit the
    connector's `connection_config`, else InvalidInput naming the field.

    `require` enforces `required` fields; OAuth connections fill some of them
    from the provider's answer (Salesforce's instance URL) or later (Jira's
    cloud id), so they are checked when a call needs them instead.
    """
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise InvalidInput.for_field("config", "Must be a JSON object.")
    config = {k: v for k, v in config.items() if v is not None}
    if len(json.dumps(config)) > MAX_CONFIG_BYTES:
        raise InvalidInput.for_field("config", f"Settings may be at most {MAX_CONFIG_BYTES} bytes.")
    schema = definition.get("connection_config") or {}
    properties = schema.get("properties") or {}
    unknown = sorted(set(config) - set(properties))
    if unknown:
        raise InvalidInput.for_field(
            f"config.{unknown[0]}",
            "This connector has no such setting"
            + (f" (it has: {', '.join(sorted(properties))})." if properties else "."),
        )
    try:
        connection_values(definition, config)
    except ConnectionConfigError as exc:
        raise InvalidInput.for_field(f"config.{exc.field or ''}".rstrip("."), exc.message) from None
    if require:
        for name in schema.get("required") or []:
            if config.get(name) in (None, "") and "default" not in (properties.get(name) or {}):
                raise InvalidInput.for_field(f"config.{name}", "This setting is required.")
    return config
