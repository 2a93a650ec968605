"""The catalogue of ready-made connectors: one JSON file per connector here.

:func:`load_catalog` reads, validates and normalises them once per process.
A file that does not validate stops the load with a :class:`DefinitionError`
naming the file: a broken catalogue must fail tests and startup, not a
customer's call. See README.md in this folder to add a connector.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

from apps.connectors.definition import Problem, clean_definition, validate_definition
from apps.connectors.exceptions import DefinitionError

__all__ = ["CATALOG_DIR", "catalog_files", "catalog_size", "catalog_summaries", "get_connector", "load_catalog"]

CATALOG_DIR = Path(__file__).parent


def catalog_files() -> list[Path]:
    return sorted(CATALOG_DIR.glob("*.json"))


def _load_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DefinitionError([Problem("$", f"{path.name} is not valid JSON: {exc}")]) from None
    problems = validate_definition(data)
    if data.get("slug") != path.stem:
        problems.append(Problem("$.slug", f"must match the file name ({path.stem!r})"))
    if problems:
        raise DefinitionError([Problem(p.path, f"{path.name}: {p.message}") for p in problems])
    return clean_definition(data)


@functools.cache
def _catalog() -> dict[str, dict[str, Any]]:
    return {definition["slug"]: definition for definition in map(_load_file, catalog_files())}


def load_catalog() -> dict[str, dict[str, Any]]:
    """Every catalogue connector by slug, validated and normalised.

    Cached per process; the result is a deep copy, so callers may mutate it.
    """
    return copy.deepcopy(_catalog())


def get_connector(slug: str) -> dict[str, Any] | None:
    """One catalogue connector (a copy), or ``None``."""
    definition = _catalog().get(slug)
    return copy.deepcopy(definition) if definition is not None else None


def catalog_size() -> int:
    return len(_catalog())


@functools.cache
def catalog_summaries() -> tuple[MappingProxyType, ...]:
    """What lists of the catalogue show, one read-only summary per connector,
    sorted by name. Computed once per process: pages that list or count the
    catalogue copy nothing per request."""
    summaries = []
    for slug, definition in sorted(_catalog().items(), key=lambda item: item[1]["name"].lower()):
        auth = definition.get("auth") or {"type": "none"}
        summaries.append(
            MappingProxyType(
                {
                    "slug": slug,
                    "name": definition["name"],
                    "description": definition.get("description", ""),
                    "categories": tuple(definition.get("categories") or ()),
                    "docs_url": definition.get("docs_url"),
                    "auth_type": auth["type"],
                    "oauth_grant": auth.get("grant", "authorization_code") if auth["type"] == "oauth2" else "",
                    "action_count": len(definition["actions"]),
                    "version": definition.get("version", "1"),
                }
            )
        )
    return tuple(summaries)
