"""Running a connector action: build the request, send it, shape the answer.

Pure of Django: callers hand in the definition, the connection's credentials
and configuration, and a deadline; the Django layer stores the trace this
returns and refreshes OAuth tokens around it.

How parameters become a request (API.md's contract, extended):

1. ``{name}`` placeholders in the path take the parameter of that name,
   URL-encoded as one path segment (``{+name}`` keeps ``/`` for file paths).
2. Templates the action declares (``query``, ``headers``, ``body``) take the
   parameters they mention.
3. The remaining parameters go to the query string for GET, DELETE, HEAD and
   OPTIONS — unless the action declares a ``query`` template — and to the
   body otherwise — unless it declares a ``body`` template. (With a template,
   the template is the whole story: other parameters are not sent.)
4. Parameters starting with ``_`` control the call and are never sent:
   ``_paginate`` (true: follow the action's pagination and return the items of
   all pages as one list) and ``_max_pages`` (default 10, at most 100).

Responses of status 400 or more raise :class:`ConnectorCallError` with the
status and the redacted body; 429 and 5xx on idempotent methods are retried
within the deadline first (``Retry-After`` honoured).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit

import jsonschema
from jsonschema import Draft202012Validator

from apps.connectors.definition import (
    METHODS_WITHOUT_BODY,
    PLACEHOLDER_RE,
    json_path,
    normalize_definition,
)
from apps.connectors.exceptions import (
    ConnectionConfigError,
    ConnectorCallError,
    ConnectorError,
    ConnectorTransportError,
    InvalidParams,
    UnknownAction,
)
from apps.connectors.templating import (
    EXPRESSION_RE,
    MISSING,
    TemplateContext,
    get_path,
    lookup,
    render,
    set_path,
    text_of,
)
from apps.core import http

__all__ = [
    "DEFAULT_CALL_SECONDS",
    "DEFAULT_MAX_PAGES",
    "MAX_PAGES_LIMIT",
    "ActionResult",
    "CallTrace",
    "PreparedRequest",
    "build_request",
    "connection_values",
    "credential_secrets",
    "execute_action",
    "render_url_template",
]

DEFAULT_CALL_SECONDS: Final = 30.0
DEFAULT_MAX_PAGES: Final = 10
MAX_PAGES_LIMIT: Final = 100
DEFAULT_RETRIES: Final = 2
_ERROR_BODY_TEXT_LIMIT: Final = 4096
# Bodies kept in a trace's detail (the Traces page), per side; longer ones are cut.
TRACE_BODY_BYTES: Final = 8192
# Header values never shown, whatever they hold (credentials the redactor may not know).
SENSITIVE_HEADERS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "x-auth-token",
        "x-access-token",
        "x-csrf-token",
        "x-amz-security-token",
    }
)
_HOST_VALUE_RE: Final = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_NO_BODY: Final = object()


# --------------------------------------------------------------------------
# Results and traces
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CallTrace:
    """What happened, safe to store and show: no credential, no secret.

    One per action call; a paginated call sums its pages.
    """

    connector: str
    action: str
    method: str
    url: str  # the first request's URL, credentials removed
    status: int | None
    duration_ms: int
    request_bytes: int
    response_bytes: int
    pages: int
    attempts: int
    error: str | None
    error_code: str | None
    started_at: str  # ISO 8601, UTC
    # The first request and the last response, redacted and bounded (see
    # `exchange_detail`): {"request": {"headers", "body"}, "response": {...} | None}.
    detail: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ActionResult:
    """The outcome of a successful call. ``data`` is the output: the parsed
    JSON body at the action's ``output.path`` (the text for non-JSON, ``None``
    for an empty body), or, with ``_paginate``, the list of all items."""

    data: Any
    status: int
    headers: dict[str, str]
    pages: int
    truncated: bool  # pagination stopped at _max_pages while more pages existed
    trace: CallTrace


@dataclass(frozen=True)
class PreparedRequest:
    """A request ready to send, and what must be hidden when reporting it."""

    method: str
    url: str
    query: list[tuple[str, Any]]
    headers: dict[str, str]
    body: Any  # _NO_BODY, or the JSON value / form mapping
    content_type: str  # "json" or "form"
    secrets: tuple[str, ...]
    sensitive_query_keys: tuple[str, ...]
    auth_query: tuple[tuple[str, str], ...] = ()

    @property
    def has_body(self) -> bool:
        return self.body is not _NO_BODY

    def redactor(self) -> http.Redactor:
        return http.Redactor(self.secrets, self.sensitive_query_keys)

    def shown_url(self) -> str:
        """The full URL with its query, safe to log."""
        query = urlencode([(k, v) for k, v in self.query], doseq=True)
        return self.redactor().redact_url(f"{self.url}?{query}" if query else self.url)


# --------------------------------------------------------------------------
# Building the request
# --------------------------------------------------------------------------


def credential_secrets(credentials: Mapping[str, Any] | None) -> list[str]:
    """Every string inside the credentials: all of them are treated as secret."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(credentials or {})
    return found


def connection_values(definition: Mapping[str, Any], connection_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The connection's configuration with the definition's defaults, each
    value checked against ``connection_config`` (type, pattern, enum).

    ``required`` is not enforced here: some settings only exist after the
    OAuth flow (Salesforce's instance URL, Jira's cloud id), and a call that
    needs a missing one fails when its template is rendered, naming it.
    Raises :class:`ConnectionConfigError`.
    """
    schema = dict(definition.get("connection_config") or {"type": "object", "properties": {}})
    schema.pop("required", None)
    values = {k: v for k, v in (connection_config or {}).items() if v is not None}
    for name, spec in (schema.get("properties") or {}).items():
        if name not in values and isinstance(spec, Mapping) and "default" in spec:
            values[name] = spec["default"]
    error = jsonschema.exceptions.best_match(Draft202012Validator(schema).iter_errors(values))
    if error is not None:
        name = str(error.absolute_path[0]) if error.absolute_path else "?"
        reason = {
            "pattern": "does not have the expected format",
            "enum": "is not one of the allowed values",
            "type": "has the wrong type",
        }.get(str(error.validator), "is invalid")
        raise ConnectionConfigError(f"The connection setting {name!r} {reason}", field=name)
    return values


def render_url_template(template: str, context: TemplateContext) -> str:
    """Render a base/authorisation URL template safely.

    A value that lands in the host must be host-shaped (``acme``,
    ``eu.example``), so a connection setting cannot move the request to
    another host; in the path it is URL-encoded. A template that starts the
    URL must hold a whole ``http(s)://host`` origin (Salesforce's instance URL).
    """
    stripped = template.strip()
    rest = stripped
    prefix = ""
    leading = EXPRESSION_RE.match(stripped)
    if leading:
        origin = context.resolve(leading.group(1), leading.group(2).lstrip("."))
        prefix = _origin_value(origin, leading.group(0))
        rest = stripped[leading.end() :]
        authority_end = 0
    else:
        scheme_end = rest.find("://")
        after = scheme_end + 3 if scheme_end >= 0 else 0
        ends = [i for i in (rest.find("/", after), rest.find("?", after)) if i >= 0]
        authority_end = min(ends) if ends else len(rest)

    def substitute(match: re.Match[str]) -> str:
        value = context.resolve(match.group(1), match.group(2).lstrip("."))
        if value is MISSING or value is None or value == "":
            raise ConnectionConfigError(
                f"The connection setting {match.group(2).lstrip('.')!r} is required", field=match.group(2).lstrip(".")
            )
        text = text_of(value)
        if match.start() < authority_end:
            if not _HOST_VALUE_RE.match(text):
                raise ConnectionConfigError(
                    f"The connection setting {match.group(2).lstrip('.')!r} is not a valid host name part",
                    field=match.group(2).lstrip("."),
                )
            return text
        return quote(text, safe="")

    url = prefix + EXPRESSION_RE.sub(substitute, rest)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConnectionConfigError(f"The URL built from {template!r} is not an http(s) URL")
    return url


def _origin_value(value: Any, expression: str) -> str:
    name = expression.strip("{} ").split(".", 1)[-1]
    if not isinstance(value, str) or not value:
        raise ConnectionConfigError(f"The connection setting {name!r} is required", field=name)
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConnectionConfigError(f"The connection setting {name!r} must be an http(s) origin", field=name)
    if parts.username or parts.password:
        raise ConnectionConfigError(f"The connection setting {name!r} must not hold credentials", field=name)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _path_value(name: str, value: Any, keep_slashes: bool) -> str:
    if value is None or isinstance(value, (dict, list)):
        raise InvalidParams(f"The path parameter {name!r} must be a string or a number", field=name)
    text = text_of(value)
    if text == "":
        raise InvalidParams(f"The path parameter {name!r} is empty", field=name)
    segments = text.split("/") if keep_slashes else [text]
    # A value of ".." would walk up the API's path (".../contacts/.." -> "...")
    if any(segment in (".", "..") for segment in segments):
        raise InvalidParams(f"The path parameter {name!r} cannot be '.' or '..'", field=name)
    return quote(text, safe="/" if keep_slashes else "")


def _fill_path(path: str, params: Mapping[str, Any], context: TemplateContext) -> str:
    def template(match: re.Match[str]) -> str:
        value = context.resolve(match.group(1), match.group(2).lstrip("."))
        if value is MISSING or value is None:
            field_name = match.group(2).lstrip(".")
            if match.group(1) == "params":
                raise InvalidParams(f"The parameter {field_name!r} is required", field=field_name)
            raise ConnectionConfigError(f"The connection setting {field_name!r} is required", field=field_name)
        return quote(text_of(value), safe="")

    path = EXPRESSION_RE.sub(template, path)

    def placeholder(match: re.Match[str]) -> str:
        keep_slashes, name = match.group(1) == "+", match.group(2)
        if name not in params:
            raise InvalidParams(f"The path parameter {name!r} is required", field=name)
        context.used_params.add(name)
        return _path_value(name, params[name], keep_slashes)

    return PLACEHOLDER_RE.sub(placeholder, path)


def _header_value(name: str, value: Any) -> str:
    text = text_of(value)
    if "\r" in text or "\n" in text:
        raise InvalidParams(f"The header {name!r} cannot contain a line break", field=name)
    return text


def _render_headers(templates: Mapping[str, Any], context: TemplateContext) -> dict[str, str]:
    rendered = render(dict(templates), context)
    return {name: _header_value(name, value) for name, value in rendered.items() if value is not None}


def _query_pairs(values: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Query pairs; lists repeat the key, objects use bracket keys (a[b]=c)."""
    pairs: list[tuple[str, Any]] = []

    def add(key: str, value: Any) -> None:
        if value is None or value is MISSING:
            return
        if isinstance(value, Mapping):
            for sub_key, sub_value in value.items():
                add(f"{key}[{sub_key}]", sub_value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, (Mapping, list, tuple)):
                    add(f"{key}[]", item)
                else:
                    add(key, item)
        else:
            pairs.append((key, text_of(value)))

    for key, value in values.items():
        add(key, value)
    return pairs


def _form_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """A form body: nested objects and lists flattened the way Stripe and
    Rails read them (``metadata[plan]=pro``, ``expand[0]=customer``)."""
    fields: dict[str, Any] = {}

    def add(key: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for sub_key, sub_value in value.items():
                add(f"{key}[{sub_key}]", sub_value)
        elif isinstance(value, (list, tuple)):
            if all(not isinstance(item, (Mapping, list, tuple)) for item in value):
                fields[key] = [text_of(item) for item in value]
            else:
                for index, item in enumerate(value):
                    add(f"{key}[{index}]", item)
        else:
            fields[key] = text_of(value)

    for key, value in values.items():
        add(key, value)
    return fields


def _join_prefix(prefix: str, value: str) -> str:
    prefix = prefix.strip()
    return f"{prefix} {value}" if prefix else value


def _credential(credentials: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = credentials.get(name)
        if isinstance(value, str) and value:
            return value
    raise ConnectionConfigError(f"The connection has no {names[0]!r} credential", field=f"credentials.{names[0]}")


def _apply_auth(
    auth: Mapping[str, Any],
    context: TemplateContext,
    headers: dict[str, str],
    query: list[tuple[str, Any]],
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Add the connection's credentials; return (extra secrets, sensitive query
    keys, auth query pairs)."""
    credentials = context.credentials
    kind = auth.get("type", "none")
    secrets: list[str] = []
    auth_query: list[tuple[str, str]] = []
    if kind == "api_key":
        key = _credential(credentials, "api_key")
        if auth["in"] == "header":
            headers[auth["name"]] = _join_prefix(auth.get("prefix", ""), key)
        else:
            auth_query.append((auth["name"], _join_prefix(auth.get("prefix", ""), key)))
    elif kind == "bearer":
        token = _credential(credentials, "token", "access_token", "api_key")
        headers[auth.get("header", "Authorization")] = _join_prefix(auth.get("prefix", "Bearer"), token)
    elif kind == "basic":
        username = render(auth.get("username", "{{credentials.username}}"), context)
        password = render(auth.get("password", "{{credentials.password}}"), context)
        if username is MISSING or password is MISSING:
            raise ConnectionConfigError("The connection lacks the credentials for basic authentication")
        pair = base64.b64encode(f"{text_of(username)}:{text_of(password)}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {pair}"
        secrets.append(pair)
    elif kind == "oauth2":
        token = _credential(credentials, "access_token")
        headers[auth.get("token_header", "Authorization")] = _join_prefix(auth.get("token_prefix", "Bearer"), token)
    elif kind == "custom":
        for name, template in (auth.get("headers") or {}).items():
            value = render(template, context)
            if value is MISSING:
                raise ConnectionConfigError(f"The connection lacks a credential for the {name!r} header")
            headers[name] = _header_value(name, value)
        for name, template in (auth.get("query") or {}).items():
            value = render(template, context)
            if value is MISSING:
                raise ConnectionConfigError(f"The connection lacks a credential for the {name!r} query parameter")
            auth_query.append((name, text_of(value)))
    query.extend(auth_query)
    return secrets, [name for name, _ in auth_query], auth_query


def _check_params(action: Mapping[str, Any], params: Mapping[str, Any], redactor: http.Redactor) -> None:
    schema = action.get("input_schema")
    if not schema:
        return
    error = jsonschema.exceptions.best_match(Draft202012Validator(schema).iter_errors(dict(params)))
    if error is None:
        return
    where = list(error.absolute_path)
    if error.validator == "required":
        missing = next((n for n in error.validator_value if n not in error.instance), None)
        if missing is not None:
            where.append(missing)
            raise InvalidParams(f"The parameter {json_path(where)[2:]!r} is required", field=json_path(where))
    field_path = json_path(where)
    raise InvalidParams(redactor.redact(f"Invalid parameter {field_path}: {error.message}"), field=field_path)


def _normalized_for(definition: Mapping[str, Any], action_name: str) -> dict[str, Any]:
    """The definition normalised, keeping only the action being called: an
    imported API can have a thousand actions, and copying them all on every
    call would cost more than the call's own work."""
    actions = definition.get("actions") or {}
    trimmed = {**definition, "actions": {action_name: actions[action_name]} if action_name in actions else {}}
    trimmed.pop("verify", None)  # may name an action that was trimmed away
    return normalize_definition(trimmed)


def _with_defaults(action: Mapping[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Top-level ``default`` values of the input schema for absent parameters
    (so ``valueInputOption: USER_ENTERED`` need not be passed every time)."""
    properties = (action.get("input_schema") or {}).get("properties") or {}
    for name, spec in properties.items():
        if name not in params and isinstance(spec, Mapping) and "default" in spec:
            params[name] = spec["default"]
    return params


def _split_params(params: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    given = dict(params or {})
    control = {k: v for k, v in given.items() if k.startswith("_")}
    return {k: v for k, v in given.items() if not k.startswith("_")}, control


def build_request(
    definition: Mapping[str, Any],
    action_name: str,
    params: Mapping[str, Any] | None = None,
    *,
    credentials: Mapping[str, Any] | None = None,
    connection_config: Mapping[str, Any] | None = None,
    extra_secrets: Iterable[str] = (),
) -> PreparedRequest:
    """The HTTP request an action call makes, without sending it.

    ``definition`` may be raw or normalised. Raises :class:`UnknownAction`,
    :class:`InvalidParams` (``field`` names the parameter) or
    :class:`ConnectionConfigError`; messages hold no credential.
    """
    definition = _normalized_for(definition, action_name)
    action = definition["actions"].get(action_name)
    if action is None:
        raise UnknownAction(f"The connector {definition['slug']!r} has no action {action_name!r}")
    secrets = [*credential_secrets(credentials), *extra_secrets]
    params, _control = _split_params(params)
    params = _with_defaults(action, params)
    _check_params(action, params, http.Redactor(secrets))
    connection = connection_values(definition, connection_config)
    context = TemplateContext(params=params, connection=connection, credentials=credentials or {})

    base = render_url_template(action.get("base_url") or definition["base_url"], context).rstrip("/")
    url = base + _fill_path(action.get("path", ""), params, context)

    headers = _render_headers(definition.get("headers") or {}, context)
    headers.update(_render_headers(action.get("headers") or {}, context))
    query: list[tuple[str, Any]] = []
    if "query" in action:
        rendered_query = render(dict(action["query"]), context)
        query.extend(_query_pairs(rendered_query))
    body: Any = _NO_BODY
    if "body" in action:
        rendered_body = render(action["body"], context)
        if rendered_body is not MISSING and rendered_body is not None:
            body = rendered_body

    leftovers = {k: v for k, v in params.items() if k not in context.used_params}
    method = action["method"]
    if leftovers:
        if method in METHODS_WITHOUT_BODY:
            if "query" not in action:
                query.extend(_query_pairs(leftovers))
        elif "body" not in action:
            body = leftovers

    content_type = action.get("content_type", "json")
    if content_type == "form" and body is not _NO_BODY:
        if not isinstance(body, Mapping):
            raise InvalidParams("A form body must be an object")
        body = _form_fields(body)

    auth_secrets, sensitive_keys, auth_query = _apply_auth(definition["auth"], context, headers, query)
    secrets.extend(auth_secrets)
    return PreparedRequest(
        method=method,
        url=url,
        query=query,
        headers=headers,
        body=body,
        content_type=content_type,
        secrets=tuple(secrets),
        sensitive_query_keys=tuple(sensitive_keys),
        auth_query=tuple(auth_query),
    )


# --------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------


@dataclass
class _Tally:
    """Running totals for the call's trace."""

    started: float
    started_at: str
    first_url: str = ""
    status: int | None = None
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    request_bytes: int = 0
    response_bytes: int = 0
    pages: int = 0
    attempts: int = 0

    def add(self, response: http.OutboundResponse) -> None:
        self.status = response.status
        self.request_bytes += response.request_bytes
        self.response_bytes += response.response_bytes
        self.attempts += response.attempts
        self.pages += 1


@dataclass
class _Call:
    definition: Mapping[str, Any]
    action_name: str
    action: Mapping[str, Any]
    deadline: float
    allow_private: bool
    retries: int
    timeouts: http.Timeouts
    max_response_bytes: int
    tally: _Tally
    redactor: http.Redactor = field(default_factory=http.Redactor)
    body_bytes: int = TRACE_BODY_BYTES

    def trace(self, error: ConnectorError | None = None) -> CallTrace:
        detail = None
        if self.tally.request is not None:
            detail = {"request": self.tally.request, "response": self.tally.response}
        return CallTrace(
            connector=self.definition["slug"],
            action=self.action_name,
            method=self.action["method"],
            url=self.tally.first_url,
            status=self.tally.status,
            duration_ms=int((time.monotonic() - self.tally.started) * 1000),
            request_bytes=self.tally.request_bytes,
            response_bytes=self.tally.response_bytes,
            pages=self.tally.pages,
            attempts=self.tally.attempts,
            error=self.redactor.redact(error.message) if error else None,
            error_code=error.code if error else None,
            started_at=self.tally.started_at,
            detail=detail,
        )

    def send(
        self, prepared: PreparedRequest, url: str | None = None, query: list[tuple[str, Any]] | None = None
    ) -> http.OutboundResponse:
        body_kwargs: dict[str, Any] = {}
        if prepared.has_body:
            if prepared.content_type == "form":
                body_kwargs["form"] = prepared.body
            else:
                body_kwargs["json"] = prepared.body
        target = url or prepared.url
        pairs = prepared.query if query is None else query
        if not self.tally.first_url:
            self.tally.first_url = replace(prepared, url=target, query=pairs).shown_url()
            self.tally.request = {
                "headers": _shown_headers(prepared.headers, self.redactor),
                "body": _shown_body(prepared.body if prepared.has_body else None, self.redactor, self.body_bytes),
            }
        try:
            response = http.request(
                prepared.method,
                target,
                params=pairs,
                headers=prepared.headers,
                deadline=self.deadline,
                timeouts=self.timeouts,
                allow_private=self.allow_private,
                retries=self.retries,
                max_response_bytes=self.max_response_bytes,
                secrets=prepared.secrets,
                sensitive_query_keys=prepared.sensitive_query_keys,
                **body_kwargs,
            )
        except http.OutboundError as exc:
            self.tally.attempts += exc.attempts
            error = ConnectorTransportError(
                self.redactor.redact(f"{self.definition['slug']}.{self.action_name}: {exc.message}"),
                reason=exc.code,
                retryable=exc.retryable,
            )
            error.trace = self.trace(error)
            raise error from None
        self.tally.add(response)
        self.tally.response = {
            "headers": _shown_headers(response.headers, self.redactor),
            "body": _shown_response_body(response, self.redactor, self.body_bytes),
        }
        self._raise_for_error(response)
        return response

    def _raise_for_error(self, response: http.OutboundResponse) -> None:
        errors = {**(self.definition.get("errors") or {}), **(self.action.get("errors") or {})}
        failed = response.status >= 400
        detail: str | None = None
        if not failed and errors and response.is_json:
            ok_path, error_path = errors.get("ok_path"), errors.get("error_path")
            if ok_path and lookup(response.json, ok_path) is False:
                failed = True
            elif error_path and get_path(response.json, error_path):
                failed = True
            if failed:
                detail = _text_at(response.json, errors.get("message_path") or error_path or "error")
        if not failed:
            return
        body = _redacted_body(response, self.redactor)
        detail = detail or _error_detail(body)
        message = f"{self.definition['slug']}.{self.action_name} failed with HTTP {response.status}"
        if detail:
            message += f": {detail}"
        error = ConnectorCallError(
            response.status, body, self.redactor.redact(message), retry_after=response.retry_after
        )
        error.trace = self.trace(error)
        raise error


def _text_at(data: Any, path: str) -> str | None:
    value = get_path(data, path)
    if isinstance(value, (dict, list)):
        return _error_detail(value)
    return str(value)[:300] if value not in (None, "", MISSING) else None


_DETAIL_PATHS: Final = (
    "message",
    "error.message",
    "error_description",
    "error",
    "errors.0.message",
    "errors.0.detail",
    "errors.0",
    "detail",
    "title",
    "errorMessage",
    "description",
)


def _error_detail(body: Any) -> str | None:
    """A short human message from a typical API error body."""
    if isinstance(body, str):
        return body.strip()[:300] or None
    for path in _DETAIL_PATHS:
        value = get_path(body, path)
        if isinstance(value, str) and value.strip():
            return value.strip()[:300]
    return None


def _redact_value(value: Any, redactor: http.Redactor) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, Mapping):
        return {redactor.redact(str(k)): _redact_value(v, redactor) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(item, redactor) for item in value]
    return value


def _shown_headers(headers: Mapping[str, str] | Any, redactor: http.Redactor) -> dict[str, str]:
    """Headers as a trace may show them: credentials hidden by name and by value."""
    shown: dict[str, str] = {}
    for name, value in headers.items():
        lower = str(name).lower()
        shown[lower] = http.REDACTED if lower in SENSITIVE_HEADERS else redactor.redact(str(value))[:2000]
    return shown


def _cut(text: str, limit: int) -> dict[str, Any]:
    if len(text) > limit:
        return {"text": text[:limit], "truncated": True}
    return {"text": text, "truncated": False}


def _shown_body(value: Any, redactor: http.Redactor, limit: int) -> dict[str, Any] | None:
    """A request body for the trace: redacted, at most `limit` characters."""
    if value is None or limit <= 0:
        return None
    if isinstance(value, (bytes, str)):
        text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
        return _cut(redactor.redact(text[: limit * 2]), limit)
    try:
        text = json.dumps(_redact_value(value, redactor), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return None
    return _cut(text, limit)


def _shown_response_body(response: http.OutboundResponse, redactor: http.Redactor, limit: int) -> dict[str, Any] | None:
    if not response.body or limit <= 0:
        return None
    if response.is_json and len(response.body) <= limit:
        return _shown_body(response.json, redactor, limit)
    # Large or not JSON: the first bytes as text (never a second full parse).
    return _cut(redactor.redact(response.body[: limit * 2].decode("utf-8", errors="replace")), limit)


def _redacted_body(response: http.OutboundResponse, redactor: http.Redactor) -> Any:
    if response.is_json:
        return _redact_value(response.json, redactor)
    text = response.text
    if len(text) > _ERROR_BODY_TEXT_LIMIT:
        text = text[:_ERROR_BODY_TEXT_LIMIT] + "…"
    return redactor.redact(text)


def _output_of(response: http.OutboundResponse, path: str | None) -> Any:
    if response.is_json:
        return get_path(response.json, path)
    if not response.body:
        return None
    return response.text


# --------------------------------------------------------------------------
# Pagination
# --------------------------------------------------------------------------


def _parse_link_header(value: str | None) -> dict[str, str]:
    """RFC 8288 (ex-5988) ``Link`` header -> {rel: url}."""
    links: dict[str, str] = {}
    if not value:
        return links
    for part in re.finditer(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)", value):
        url, params = part.group(1), part.group(2)
        rel = re.search(r'rel\s*=\s*"?([^";]+)"?', params)
        if rel:
            for name in rel.group(1).split():
                links.setdefault(name.lower(), url)
    return links


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def _items(response: http.OutboundResponse, results_path: str | None) -> list[Any]:
    value = get_path(response.json, results_path) if response.is_json else None
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _set_param(prepared: PreparedRequest, where: str, name: str, value: Any) -> PreparedRequest:
    if where == "body":
        body = dict(prepared.body) if isinstance(prepared.body, Mapping) else {}
        _deep_copy_path(body, name)
        set_path(body, name, value)
        return replace(prepared, body=body)
    query = [(k, v) for k, v in prepared.query if k != name]
    query.append((name, text_of(value)))
    return replace(prepared, query=query)


def _deep_copy_path(body: dict[str, Any], path: str) -> None:
    # set_path mutates nested objects; copy those on the way so the request
    # of the previous page keeps its values.
    current = body
    for part in path.split(".")[:-1]:
        if isinstance(current.get(part), Mapping):
            current[part] = dict(current[part])
            current = current[part]
        else:
            return


def _get_param(prepared: PreparedRequest, where: str, name: str) -> Any:
    if where == "body":
        return get_path(prepared.body, name) if isinstance(prepared.body, Mapping) else None
    for key, value in prepared.query:
        if key == name:
            return value
    return None


def _paginate(call: _Call, prepared: PreparedRequest, max_pages: int) -> tuple[list[Any], http.OutboundResponse, bool]:
    """Follow the action's pagination; return (items, last response, truncated)."""
    spec = call.action["pagination"]
    kind = spec["type"]
    where = spec.get("in", "query")
    results_path = spec.get("results_path") or (call.action.get("output") or {}).get("path")

    size_param = spec.get("per_page_param") if kind == "page" else spec.get("limit_param")
    if size_param and spec.get("page_size") and _get_param(prepared, where, size_param) is None:
        prepared = _set_param(prepared, where, size_param, spec["page_size"])
    size = _get_param(prepared, where, size_param) if size_param else None
    page_size = int(size) if size is not None and str(size).isdigit() else None

    position: Any = None
    if kind == "page":
        given = _get_param(prepared, where, spec["page_param"])
        position = int(given) if given is not None and str(given).isdigit() else spec.get("start", 1)
        prepared = _set_param(prepared, where, spec["page_param"], position)
    elif kind == "offset":
        given = _get_param(prepared, where, spec["offset_param"])
        position = int(given) if given is not None and str(given).isdigit() else spec.get("start", 0)
        prepared = _set_param(prepared, where, spec["offset_param"], position)

    items: list[Any] = []
    url: str | None = None
    query: list[tuple[str, Any]] | None = None
    seen_cursors: set[str] = set()
    while True:
        response = call.send(prepared, url=url, query=query)
        page_items = _items(response, results_path)
        items.extend(page_items)
        more, prepared, url, query = _next_page(
            kind, spec, prepared, response, page_items, page_size, position, seen_cursors, url
        )
        if kind in ("page", "offset") and more:
            position = position + 1 if kind == "page" else position + len(page_items)
        if not more:
            return items, response, False
        if call.tally.pages >= max_pages:
            return items, response, True


def _next_page(
    kind: str,
    spec: Mapping[str, Any],
    prepared: PreparedRequest,
    response: http.OutboundResponse,
    page_items: list[Any],
    page_size: int | None,
    position: Any,
    seen_cursors: set[str],
    current_url: str | None,
) -> tuple[bool, PreparedRequest, str | None, list[tuple[str, Any]] | None]:
    """Whether there is a next page, and the request for it."""
    body = response.json if response.is_json else None
    has_more_path = spec.get("has_more_path")
    if has_more_path and not get_path(body, has_more_path):
        return False, prepared, None, None
    where = spec.get("in", "query")

    if kind == "cursor":
        if spec.get("cursor_source") == "last_item":
            cursor = get_path(page_items[-1], spec["cursor_path"]) if page_items else None
        else:
            cursor = get_path(body, spec["cursor_path"])
        # A repeated cursor would loop forever; an empty page ends the list
        # unless the API says explicitly that more follows.
        if cursor in (None, "") or (not page_items and not has_more_path) or str(cursor) in seen_cursors:
            return False, prepared, None, None
        seen_cursors.add(str(cursor))
        return True, _set_param(prepared, where, spec["cursor_param"], cursor), None, None

    if kind in ("page", "offset"):
        if not page_items or (page_size is not None and len(page_items) < page_size):
            return False, prepared, None, None
        if kind == "page":
            return True, _set_param(prepared, where, spec["page_param"], position + 1), None, None
        return True, _set_param(prepared, where, spec["offset_param"], position + len(page_items)), None, None

    # link_header and next_url follow a URL the API gives. It must stay on the
    # API's origin: the request carries the connection's credentials.
    base = current_url or prepared.url
    if kind == "link_header":
        next_url = _parse_link_header(response.headers.get("link")).get("next")
    else:
        found = get_path(body, spec["next_url_path"])
        next_url = found if isinstance(found, str) and found else None
    if not next_url:
        return False, prepared, None, None
    absolute = urljoin(base, next_url)
    if not _same_origin(absolute, prepared.url) or absolute in seen_cursors:
        return False, prepared, None, None
    seen_cursors.add(absolute)
    # The next URL carries its own query; credentials sent in the query are
    # added back when the API left them out.
    present = {k for k, _ in _query_of(absolute)}
    return True, prepared, absolute, [(k, v) for k, v in prepared.auth_query if k not in present]


def _query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


# --------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------


def _max_pages(control: Mapping[str, Any]) -> int:
    value = control.get("_max_pages", DEFAULT_MAX_PAGES)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParams("_max_pages must be a positive integer", field="_max_pages")
    return min(value, MAX_PAGES_LIMIT)


def execute_action(
    definition: Mapping[str, Any],
    action_name: str,
    params: Mapping[str, Any] | None = None,
    *,
    credentials: Mapping[str, Any] | None = None,
    connection_config: Mapping[str, Any] | None = None,
    deadline: float | None = None,
    allow_private: bool = False,
    retries: int = DEFAULT_RETRIES,
    timeouts: http.Timeouts = http.DEFAULT_TIMEOUTS,
    max_response_bytes: int = http.DEFAULT_MAX_RESPONSE_BYTES,
    extra_secrets: Iterable[str] = (),
    trace_body_bytes: int = TRACE_BODY_BYTES,
) -> ActionResult:
    """Run one action and return its output with a trace.

    ``deadline`` (``time.monotonic()``; default 30 s from now) bounds the
    whole call including retries and pages. Every :class:`ConnectorError`
    raised here carries ``.trace``; neither the trace nor any message holds a
    credential or one of ``extra_secrets``.
    """
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    normalized = _normalized_for(definition, action_name)
    action = normalized["actions"].get(action_name, {"method": "?"})
    redactor = http.Redactor([*credential_secrets(credentials), *extra_secrets])
    call = _Call(
        definition=normalized,
        action_name=action_name,
        action=action,
        deadline=deadline if deadline is not None else started + DEFAULT_CALL_SECONDS,
        allow_private=allow_private,
        retries=retries,
        timeouts=timeouts,
        max_response_bytes=max_response_bytes,
        tally=_Tally(started=started, started_at=started_at),
        redactor=redactor,
        body_bytes=trace_body_bytes,
    )
    try:
        control = _split_params(params)[1]
        prepared = build_request(
            normalized,
            action_name,
            params,
            credentials=credentials,
            connection_config=connection_config,
            extra_secrets=extra_secrets,
        )
        call.redactor = prepared.redactor()
        paginate = bool(control.get("_paginate")) and "pagination" in action
        max_pages = _max_pages(control) if paginate else 1
    except ConnectorError as exc:
        exc.message = redactor.redact(exc.message)
        exc.args = (exc.message,)
        exc.trace = call.trace(exc)
        raise

    if paginate:
        items, last, truncated = _paginate(call, prepared, max_pages)
        data: Any = items
    else:
        last = call.send(prepared)
        data = _output_of(last, (action.get("output") or {}).get("path"))
        truncated = False
    return ActionResult(
        data=data,
        status=last.status,
        headers={k.lower(): v for k, v in last.headers.items()},
        pages=call.tally.pages,
        truncated=truncated,
        trace=call.trace(),
    )
