"""Writes to connectors: create, change (a new version each time the
definition changes), delete, install from the catalogue, import OpenAPI.

Every function runs inside the organization's schema and audits what it did.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from apps.accounts.principals import Principal
from apps.connectors import catalog
from apps.connectors.definition import Problem, validate_definition
from apps.connectors.exceptions import (
    CatalogEntryNotFound,
    ConnectorExists,
    ConnectorInUse,
    ConnectorNotFound,
    InvalidDefinition,
    OpenAPIImportError,
    OpenAPIImportFailed,
)
from apps.connectors.models import Connection, Connector, ConnectorVersion
from apps.connectors.openapi_import import import_openapi
from apps.settings.services import audit_record

# Paths under /api/v1/connectors/ that are not connector slugs.
RESERVED_SLUGS = frozenset({"schema", "import-openapi"})


def definition_hash(definition: Mapping[str, Any]) -> str:
    """SHA-256 of the definition's canonical JSON: equal definitions, equal hashes."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, ``null`` removes a
    key, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _reserved_slug_problem(slug: Any) -> Problem | None:
    if slug in RESERVED_SLUGS:
        return Problem("$.slug", f"{slug!r} is reserved; choose another slug")
    return None


def definition_check(definition: Any) -> dict[str, Any]:
    """The definition, or InvalidDefinition listing every problem by JSON path."""
    problems = validate_definition(definition)
    reserved = _reserved_slug_problem(definition.get("slug")) if isinstance(definition, Mapping) else None
    if reserved:
        problems.append(reserved)
    if problems:
        raise InvalidDefinition.from_problems(sorted(problems))
    return dict(definition)


def _summary(definition: Mapping[str, Any]) -> dict[str, Any]:
    auth = definition.get("auth") or {}
    return {
        "name": definition["name"],
        "description": str(definition.get("description") or ""),
        "categories": list(definition.get("categories") or []),
        "auth_type": str(auth.get("type") or "none"),
        "action_count": len(definition.get("actions") or {}),
    }


def _new_version(connector: Connector, *, definition: dict[str, Any], content_hash: str, actor: Principal, note: str):
    return ConnectorVersion.objects.create(
        connector=connector,
        number=connector.current_version,
        definition=definition,
        content_hash=content_hash,
        note=note[:255],
        created_by=actor.label[:255],
    )


def connector_create(
    *,
    actor: Principal,
    definition: Any,
    source: str = Connector.Source.CUSTOM,
    catalog_slug: str = "",
    note: str = "",
    prevalidated: bool = False,
) -> Connector:
    """Add a connector to the organization (version 1)."""
    if prevalidated:
        definition = dict(definition)
        reserved = _reserved_slug_problem(definition["slug"])
        if reserved:
            raise InvalidDefinition.from_problems([reserved])
    else:
        definition = definition_check(definition)
    content_hash = definition_hash(definition)
    try:
        with transaction.atomic():
            connector = Connector.objects.create(
                slug=definition["slug"],
                source=source,
                catalog_slug=catalog_slug,
                definition=definition,
                content_hash=content_hash,
                current_version=1,
                created_by=actor.label[:255],
                updated_by=actor.label[:255],
                **_summary(definition),
            )
            _new_version(connector, definition=definition, content_hash=content_hash, actor=actor, note=note)
    except IntegrityError as exc:
        raise ConnectorExists(
            f"A connector with the slug {definition['slug']!r} already exists.", details={"slug": definition["slug"]}
        ) from exc
    audit_record(
        actor=actor,
        action="connector.create",
        resource_type="connector",
        resource_id=connector.slug,
        changes={"source": source, "version": 1, "actions": connector.action_count, "catalog": catalog_slug or None},
    )
    return connector


def _locked(slug: str) -> Connector:
    connector = Connector.objects.select_for_update().filter(slug=slug).first()
    if connector is None:
        raise ConnectorNotFound(f"No connector with the slug {slug!r}.")
    return connector


def connector_update(
    *,
    actor: Principal,
    slug: str,
    patch: Mapping[str, Any] | None = None,
    definition: Any = None,
    enabled: bool | None = None,
    note: str = "",
    source: str | None = None,
) -> Connector:
    """Change a connector: `patch` merges into the definition (RFC 7386),
    `definition` replaces it. A definition that differs from the current one
    becomes a new version; `enabled` switches calls on or off."""
    changed: list[str] = []
    with transaction.atomic():
        connector = _locked(slug)
        new_definition = None
        if patch is not None:
            new_definition = merge_patch(connector.definition, patch)
        elif definition is not None:
            new_definition = definition
        if new_definition is not None:
            if isinstance(new_definition, Mapping) and new_definition.get("slug") != slug:
                raise InvalidDefinition.from_problems(
                    [Problem("$.slug", f"cannot change: this connector is {slug!r} (create a new connector instead)")]
                )
            new_definition = definition_check(new_definition)
            content_hash = definition_hash(new_definition)
            if content_hash != connector.content_hash:
                connector.current_version += 1
                connector.definition = new_definition
                connector.content_hash = content_hash
                for field, value in _summary(new_definition).items():
                    setattr(connector, field, value)
                if source:
                    connector.source = source
                _new_version(connector, definition=new_definition, content_hash=content_hash, actor=actor, note=note)
                changed.append("definition")
        if enabled is not None and enabled != connector.enabled:
            connector.enabled = enabled
            changed.append("enabled")
        if changed:
            connector.updated_by = actor.label[:255]
            connector.save()
    if changed:
        audit_record(
            actor=actor,
            action="connector.update",
            resource_type="connector",
            resource_id=slug,
            changes={"changed": changed, "version": connector.current_version, "enabled": connector.enabled},
        )
    return connector


def connector_delete(*, actor: Principal, slug: str) -> None:
    """Delete a connector and its versions. Refused while it has live connections."""
    with transaction.atomic():
        connector = _locked(slug)
        live = Connection.objects.filter(connector=connector).exclude(status=Connection.Status.REVOKED).count()
        if live:
            raise ConnectorInUse(
                f"The connector {slug!r} has {live} connection{'s' if live != 1 else ''}; delete them first.",
                details={"connections": live},
            )
        Connection.objects.filter(connector=connector).delete()  # revoked history only
        connector.delete()
    audit_record(actor=actor, action="connector.delete", resource_type="connector", resource_id=slug)


def connector_install_from_catalog(
    *, actor: Principal, catalog_slug: str, upgrade: bool = False
) -> tuple[Connector, bool]:
    """Copy a catalogue connector into the organization. Returns (connector,
    created). Installed already: ConnectorExists, unless `upgrade`, which
    makes the catalogue's current definition a new version."""
    definition = catalog.get_connector(catalog_slug)
    if definition is None:
        raise CatalogEntryNotFound(f"The catalogue has no connector {catalog_slug!r}.")
    existing = Connector.objects.filter(slug=definition["slug"]).only("id", "source").first()
    if existing is not None:
        if not upgrade:
            raise ConnectorExists(
                f"The connector {catalog_slug!r} is installed already; install with upgrade to take the "
                "catalogue's current definition as a new version.",
                details={"slug": catalog_slug},
            )
        connector = connector_update(
            actor=actor,
            slug=definition["slug"],
            definition=definition,
            note=f"Upgraded from the catalogue (version {definition.get('version', '1')})",
        )
        return connector, False
    connector = connector_create(
        actor=actor,
        definition=definition,
        source=Connector.Source.CATALOG,
        catalog_slug=catalog_slug,
        note=f"Installed from the catalogue (version {definition.get('version', '1')})",
        prevalidated=True,
    )
    return connector, True


def connector_import_openapi(
    *,
    actor: Principal,
    document: str | bytes | Mapping[str, Any],
    slug: str | None = None,
    name: str | None = None,
    base_url: str | None = None,
    replace: bool = False,
) -> tuple[Connector, bool]:
    """A connector from an OpenAPI 3 document. Returns (connector, created).
    With `replace`, an existing connector of the slug gets the import as a new version."""
    try:
        definition = import_openapi(document, slug=slug, name=name, base_url=base_url)
    except OpenAPIImportError as exc:
        raise OpenAPIImportFailed(exc.message) from None
    if replace and Connector.objects.filter(slug=definition["slug"]).exists():
        connector = connector_update(
            actor=actor,
            slug=definition["slug"],
            definition=definition,
            note="Re-imported from OpenAPI",
            source=Connector.Source.OPENAPI,
        )
        return connector, False
    connector = connector_create(
        actor=actor,
        definition=definition,
        source=Connector.Source.OPENAPI,
        note="Imported from OpenAPI",
        prevalidated=True,
    )
    return connector, True
