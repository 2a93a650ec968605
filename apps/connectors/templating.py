"""The small template language of connector definitions, and dotted JSON paths.

A template is any JSON value whose strings may hold ``{{scope.path}}``
expressions, with ``scope`` one of:

* ``params`` — the action's call parameters (``{{params}}`` alone is all of them),
* ``connection`` — the connection's non-secret configuration (``shop``, ``region``),
* ``credentials`` — the connection's secrets (only for auth and header templates).

Rules, chosen so a definition reads the way it behaves:

* A string that is exactly one expression takes the value's type
  (``"{{params.limit}}"`` with ``limit=5`` renders ``5``, not ``"5"``).
* Inside a longer string a value is written as text (booleans as
  ``true``/``false``, objects as JSON).
* A missing value removes what holds it: the header, query parameter, object
  key or list item whose template refers to it. A present ``null`` stays
  ``null`` when it is the whole value.
* Only ``{{`` *scope* ``...}}`` is an expression; other braces (GraphQL
  queries, JSON in strings) are left alone.

Paths are dotted, with list indexes as numbers: ``data.items``,
``paging.next.after``, ``errors.0.message``; a key that itself contains dots
(``@odata.nextLink``) is found too. The empty path is the whole value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

SCOPES: Final = ("params", "connection", "credentials")

# A path segment may hold anything but dots, braces and spaces, so parameter
# names such as "page[size]", "$top" or "X-Request-Id" can be referred to.
EXPRESSION_RE: Final = re.compile(r"\{\{\s*(params|connection|credentials)((?:\.[^.{}\s]+)*)\s*\}\}")
# Anything that looks like an expression, to report the malformed ones.
LOOSE_EXPRESSION_RE: Final = re.compile(r"\{\{(.*?)\}\}")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


def split_path(path: str) -> list[str]:
    return [part for part in path.split(".") if part] if path else []


def lookup(data: Any, path: str | list[str]) -> Any:
    """The value at ``path`` in ``data``, or :data:`MISSING`."""
    parts = split_path(path) if isinstance(path, str) else path
    current = data
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(current, Mapping):
            # Keys may contain dots ("@odata.nextLink"): the longest run of
            # segments that names a key wins.
            for j in range(len(parts), i, -1):
                key = ".".join(parts[i:j])
                if key in current:
                    current = current[key]
                    i = j
                    break
            else:
                return MISSING
            continue
        if isinstance(current, list):
            try:
                index = int(part)
            except ValueError:
                return MISSING
            if not -len(current) <= index < len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
        i += 1
    return current


def get_path(data: Any, path: str | None, default: Any = None) -> Any:
    """The value at ``path`` (dotted), or ``default`` when any step is missing."""
    if not path:
        return data
    value = lookup(data, path)
    return default if value is MISSING else value


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` in ``data``, creating intermediate objects."""
    parts = split_path(path)
    if not parts:
        raise ValueError("An empty path cannot be set")
    current = data
    for part in parts[:-1]:
        nxt = current.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            current[part] = nxt
        current = nxt
    current[parts[-1]] = value


@dataclass
class TemplateContext:
    """Values templates can read, and the parameters they consumed.

    ``used_params`` collects the top-level parameter names referred to, so
    the executor knows which parameters still need a place.
    """

    params: Mapping[str, Any] = field(default_factory=dict)
    connection: Mapping[str, Any] = field(default_factory=dict)
    credentials: Mapping[str, Any] = field(default_factory=dict)
    used_params: set[str] = field(default_factory=set)
    # Turns a value into the text used inside a longer string; the base-URL
    # renderer swaps it for one that also validates and escapes.
    stringify: Callable[[Any], str] | None = None

    def resolve(self, scope: str, path: str) -> Any:
        parts = split_path(path)
        if scope == "params":
            if parts:
                self.used_params.add(parts[0])
            else:
                self.used_params.update(self.params)
            return lookup(self.params, parts) if parts else dict(self.params)
        source = self.connection if scope == "connection" else self.credentials
        return lookup(source, parts) if parts else MISSING


def text_of(value: Any) -> str:
    """How a value is written inside a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def render(template: Any, context: TemplateContext) -> Any:
    """Render a template value; :data:`MISSING` when it should be left out."""
    if isinstance(template, str):
        return _render_string(template, context)
    if isinstance(template, Mapping):
        rendered: dict[str, Any] = {}
        for key, value in template.items():
            out = render(value, context)
            if out is not MISSING:
                rendered[key] = out
        return rendered
    if isinstance(template, list):
        return [out for out in (render(item, context) for item in template) if out is not MISSING]
    return template


def _render_string(template: str, context: TemplateContext) -> Any:
    if "{{" not in template:
        return template
    whole = EXPRESSION_RE.fullmatch(template.strip())
    if whole:
        return context.resolve(whole.group(1), whole.group(2).lstrip("."))
    stringify = context.stringify or text_of
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        value = context.resolve(match.group(1), match.group(2).lstrip("."))
        if value is MISSING or value is None:
            missing = True
            return ""
        return stringify(value)

    rendered = EXPRESSION_RE.sub(substitute, template)
    return MISSING if missing else rendered


def references(template: Any) -> Iterator[tuple[str, str]]:
    """Every ``(scope, path)`` a template refers to."""
    if isinstance(template, str):
        for match in EXPRESSION_RE.finditer(template):
            yield match.group(1), match.group(2).lstrip(".")
    elif isinstance(template, Mapping):
        for value in template.values():
            yield from references(value)
    elif isinstance(template, list):
        for item in template:
            yield from references(item)


def malformed_expressions(template: Any) -> Iterator[str]:
    """Each ``{{...}}`` in a template that is not a valid expression."""
    if isinstance(template, str):
        for match in LOOSE_EXPRESSION_RE.finditer(template):
            if not EXPRESSION_RE.fullmatch(match.group(0)):
                # GraphQL and JSON text may hold "{{" by accident of layout;
                # only flag what names a scope-like word, not arbitrary text.
                inner = match.group(1).strip()
                if re.fullmatch(r"[A-Za-z_][\w.\-\[\]$]*", inner):
                    yield match.group(0)
    elif isinstance(template, Mapping):
        for value in template.values():
            yield from malformed_expressions(value)
    elif isinstance(template, list):
        for item in template:
            yield from malformed_expressions(item)
