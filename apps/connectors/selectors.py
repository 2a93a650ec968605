"""Reads of the connector layer. Run inside the organization's schema.

Connections are customer-scoped: API reads go through the `*_for_customer`
selectors, which take the customer (None: the organization's own
connections) and never return another's. The dashboard, where members see
every connection of their organization, uses `connection_list_all` /
`connection_get_in_organization`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from apps.connectors import catalog
from apps.connectors.credentials import credential_fields
from apps.connectors.definition import definition_head
from apps.connectors.exceptions import (
    CatalogEntryNotFound,
    ConnectionNotFound,
    ConnectorNotFound,
    OAuthAppNotFound,
    TraceNotFound,
)
from apps.connectors.models import CallTrace, Connection, Connector, ConnectorVersion, OAuthApp, OAuthRedirectUri
from apps.core.errors import InvalidInput, NotFound
from apps.core.pagination import Page, decode_cursor, encode_cursor
from apps.settings.models import Customer

Status = Connection.Status
SUMMARY_FIELDS = (
    "id",
    "slug",
    "name",
    "description",
    "categories",
    "auth_type",
    "action_count",
    "source",
    "catalog_slug",
    "content_hash",
    "current_version",
    "enabled",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
)


# --- Connectors ----------------------------------------------------------------


def connector_list(*, search: str = "", source: str = "", enabled: bool | None = None) -> QuerySet[Connector]:
    """Connectors without their definitions (lists never need them)."""
    queryset = Connector.objects.only(*SUMMARY_FIELDS)
    if search:
        queryset = queryset.filter(Q(slug__icontains=search) | Q(name__icontains=search))
    if source:
        queryset = queryset.filter(source=source)
    if enabled is not None:
        queryset = queryset.filter(enabled=enabled)
    return queryset


def connector_get(*, slug: str) -> Connector:
    connector = Connector.objects.filter(slug=slug).first()
    if connector is None:
        raise ConnectorNotFound(f"No connector with the slug {slug!r}.")
    return connector


def connector_summary_get(*, slug: str) -> Connector:
    connector = Connector.objects.only(*SUMMARY_FIELDS).filter(slug=slug).first()
    if connector is None:
        raise ConnectorNotFound(f"No connector with the slug {slug!r}.")
    return connector


def connector_versions(*, connector: Connector) -> QuerySet[ConnectorVersion]:
    return ConnectorVersion.objects.filter(connector=connector).defer("definition").order_by("-number")


def connector_version_get(*, connector: Connector, number: int) -> ConnectorVersion:
    version = ConnectorVersion.objects.filter(connector=connector, number=number).first()
    if version is None:
        raise NotFound(f"The connector {connector.slug!r} has no version {number}.", code="connector_version_not_found")
    return version


def actions_of(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """A short description of each action, for pages and the API."""
    return [
        {
            "name": name,
            "method": str(action.get("method", "")).upper(),
            "path": action.get("path", ""),
            "description": action.get("description", ""),
            "paginated": "pagination" in action,
            "parameters": sorted(((action.get("input_schema") or {}).get("properties") or {}).keys()),
        }
        for name, action in (definition.get("actions") or {}).items()
    ]


def connector_facts(definition: dict[str, Any]) -> dict[str, Any]:
    """What connecting needs: the auth kind, the credential fields, the settings."""
    head = definition_head(definition)
    auth = head["auth"]
    config = head.get("connection_config") or {}
    return {
        "auth_type": auth.get("type", "none"),
        "oauth_grant": auth.get("grant") if auth.get("type") == "oauth2" else None,
        "credential_fields": [f.as_dict() for f in credential_fields(head)],
        "config_fields": [
            {
                "name": name,
                "description": (spec or {}).get("description", ""),
                "required": name in (config.get("required") or []),
                "default": (spec or {}).get("default"),
            }
            for name, spec in (config.get("properties") or {}).items()
        ],
        "verify_action": head.get("verify"),
    }


# --- Catalogue --------------------------------------------------------------------


def catalog_entries(*, search: str = "", category: str = "") -> list[dict[str, Any]]:
    """Catalogue connectors as summaries, each marked installed or not."""
    installed = dict(Connector.objects.values_list("slug", "current_version"))
    needle = search.strip().lower()
    entries = []
    for summary in catalog.catalog_summaries():
        slug = summary["slug"]
        if category and category not in summary["categories"]:
            continue
        haystack = f"{slug} {summary['name']} {summary['description']}".lower()
        if needle and needle not in haystack:
            continue
        entries.append({**summary, "installed": slug in installed, "installed_version": installed.get(slug)})
    return entries


def catalog_categories() -> list[str]:
    return sorted({c for summary in catalog.catalog_summaries() for c in summary["categories"]})


def catalog_entry(*, slug: str) -> dict[str, Any]:
    definition = catalog.get_connector(slug)
    if definition is None:
        raise CatalogEntryNotFound(f"The catalogue has no connector {slug!r}.")
    return definition


# --- Connections ----------------------------------------------------------------------


def _connections() -> QuerySet[Connection]:
    return Connection.objects.select_related("connector", "customer").defer(
        "connector__definition", "credentials_ciphertext"
    )


def connection_list_for_customer(
    *, customer: Customer | None, connector: str = "", status: str = "", include_revoked: bool = False
) -> QuerySet[Connection]:
    """The connections of one customer (None: the organization's own)."""
    queryset = _connections().filter(customer=customer) if customer else _connections().filter(customer__isnull=True)
    return _filtered(queryset, connector=connector, status=status, include_revoked=include_revoked)


def _filtered(queryset: QuerySet[Connection], *, connector: str, status: str, include_revoked: bool):
    if connector:
        queryset = queryset.filter(connector__slug=connector)
    if status:
        queryset = queryset.filter(status=status)
    elif not include_revoked:
        queryset = queryset.exclude(status=Status.REVOKED)
    return queryset


def parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def connection_get_for_customer(*, connection_id: Any, customer: Customer | None) -> Connection:
    """A live connection of this customer (None: of the organization); any other is 404."""
    pk = parse_uuid(connection_id)
    connection = connection_list_for_customer(customer=customer).filter(pk=pk).first() if pk else None
    if connection is None:
        raise ConnectionNotFound("No connection with this id.")
    return connection


def connection_list_all(
    *, search: str = "", connector: str = "", status: str = "", include_revoked: bool = False
) -> QuerySet[Connection]:
    """Every connection of the organization (the dashboard's list)."""
    queryset = _connections()
    if search:
        queryset = queryset.filter(
            Q(customer__external_id__icontains=search)
            | Q(customer__name__icontains=search)
            | Q(connector__slug__icontains=search)
        )
    return _filtered(queryset, connector=connector, status=status, include_revoked=include_revoked)


def connection_get_in_organization(*, connection_id: Any) -> Connection:
    pk = parse_uuid(connection_id)
    connection = _connections().exclude(status=Status.REVOKED).filter(pk=pk).first() if pk else None
    if connection is None:
        raise ConnectionNotFound("No connection with this id.")
    return connection


def connection_counts() -> dict[str, int]:
    """Live connections by status."""
    rows = Connection.objects.exclude(status=Status.REVOKED).values("status").annotate(n=Count("id"))
    counts = {status: 0 for status in (Status.CONNECTED, Status.NEEDS_REAUTH, Status.ERROR)}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def connection_counts_by_connector(*, connector_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = (
        Connection.objects.filter(connector_id__in=list(connector_ids))
        .exclude(status=Status.REVOKED)
        .values("connector_id")
        .annotate(n=Count("id"))
    )
    return {row["connector_id"]: row["n"] for row in rows}


# --- OAuth apps -------------------------------------------------------------------------


def platform_apps() -> dict[str, Mapping[str, Any]]:
    """The platform-managed apps (FASTN_PLATFORM_OAUTH_APPS) by connector slug;
    entries without a client id are left out."""
    configured = settings.FASTN_PLATFORM_OAUTH_APPS or {}
    if not isinstance(configured, Mapping):
        return {}
    return {
        slug: app
        for slug, app in configured.items()
        if isinstance(app, Mapping) and isinstance(app.get("client_id"), str) and app["client_id"]
    }


def oauth_app_list() -> list[OAuthApp]:
    return list(OAuthApp.objects.order_by("connector_slug"))


def oauth_redirect_uri_list() -> list[str]:
    """The organization's allowed OAuth return URLs (normalised), sorted."""
    return list(OAuthRedirectUri.objects.order_by("uri").values_list("uri", flat=True))


def oauth_app_get(*, connector_slug: str) -> OAuthApp:
    app = OAuthApp.objects.filter(connector_slug=connector_slug).first()
    if app is None:
        raise OAuthAppNotFound(f"There is no OAuth app for {connector_slug!r}.")
    return app


def oauth_ready_slugs() -> set[str]:
    """Connectors whose OAuth sign-in can start: the organization has its own
    OAuth app for them (Settings → OAuth Apps) or the platform offers one."""
    from django.conf import settings

    return set(OAuthApp.objects.values_list("connector_slug", flat=True)) | set(settings.FASTN_PLATFORM_OAUTH_APPS)


def platform_oauth_app_list() -> list[dict[str, Any]]:
    """The platform-managed apps, without their secrets; `overridden` when the
    organization has its own app for the connector."""
    own = set(OAuthApp.objects.values_list("connector_slug", flat=True))
    return [
        {
            "connector": slug,
            "client_id": app["client_id"],
            "scopes": app.get("scopes") if isinstance(app.get("scopes"), list) else None,
            "redirect_uri": app.get("redirect_uri") or "",
            "overridden": slug in own,
        }
        for slug, app in sorted(platform_apps().items())
    ]


# --- Traces -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceFilters:
    """What Activity → Traces and `GET /api/v1/traces` may narrow by. Each
    filter has an index ending in (created_at, id) (see CallTrace.Meta)."""

    connector: str = ""
    action: str = ""
    workflow: str = ""
    execution_id: uuid.UUID | None = None
    customer: Customer | None = None
    ok: bool | None = None
    status: int | None = None
    status_class: int | None = None  # 2, 3, 4 or 5: any 2xx … 5xx
    min_ms: int | None = None
    max_ms: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def call_trace_queryset(filters: TraceFilters) -> QuerySet[CallTrace]:
    """Traces matching `filters`, without their (large) detail column."""
    queryset = CallTrace.objects.select_related("customer").defer("detail")
    if filters.connector:
        queryset = queryset.filter(connector_slug=filters.connector)
        if filters.action:
            queryset = queryset.filter(action=filters.action)
    elif filters.action:
        queryset = queryset.filter(action=filters.action)
    if filters.workflow:
        queryset = queryset.filter(workflow_slug=filters.workflow)
    if filters.execution_id:
        queryset = queryset.filter(execution_id=filters.execution_id)
    if filters.customer is not None:
        queryset = queryset.filter(customer=filters.customer)
    if filters.ok is not None:
        queryset = queryset.filter(ok=filters.ok)
    if filters.status is not None:
        queryset = queryset.filter(status=filters.status)
    elif filters.status_class is not None:
        queryset = queryset.filter(status__gte=filters.status_class * 100, status__lt=filters.status_class * 100 + 100)
    if filters.min_ms is not None:
        queryset = queryset.filter(duration_ms__gte=filters.min_ms)
    if filters.max_ms is not None:
        queryset = queryset.filter(duration_ms__lte=filters.max_ms)
    if filters.since:
        queryset = queryset.filter(created_at__gte=filters.since)
    if filters.until:
        queryset = queryset.filter(created_at__lt=filters.until)
    return queryset


def call_trace_page(
    *,
    cursor: str | None,
    limit: int,
    connector: str = "",
    execution_id: uuid.UUID | None = None,
    customer: Customer | None = None,
    ok: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    filters: TraceFilters | None = None,
) -> Page:
    """One page of traces, newest first. The cursor condition is a row
    comparison, `(created_at, id) < (…)`, which PostgreSQL reads as one range
    of the filter's index (an OR of two conditions would not be)."""
    if filters is None:
        filters = TraceFilters(
            connector=connector, execution_id=execution_id, customer=customer, ok=ok, since=since, until=until
        )
    queryset = call_trace_queryset(filters).order_by("-created_at", "-id")
    if cursor:
        created_at, pk = decode_cursor(cursor)
        trace_id = parse_uuid(pk)
        if trace_id is None:
            raise InvalidInput.for_field("cursor", "This cursor is not valid; use a next_cursor from a previous page.")
        queryset = queryset.extra(
            where=['("connectors_calltrace"."created_at", "connectors_calltrace"."id") < (%s, %s)'],
            params=[created_at, trace_id],
        )
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    return Page(rows[:limit], encode_cursor(last.created_at, last.pk))


def call_trace_get(*, trace_id: Any, customer: Customer | None = None) -> CallTrace:
    """One trace with its detail; `customer` narrows to that customer's calls."""
    parsed = parse_uuid(trace_id)
    queryset = CallTrace.objects.select_related("customer")
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    trace = queryset.filter(pk=parsed).first() if parsed else None
    if trace is None:
        raise TraceNotFound(f"There is no trace {trace_id!r}.")
    return trace


def call_trace_filter_values() -> dict[str, list[str]]:
    """Connectors, actions and workflows to offer in the Traces filters (bounded, from small tables)."""
    connectors = list(Connector.objects.order_by("slug").values_list("slug", flat=True)[:500])
    return {"connectors": connectors}


def connector_actions(*, slug: str) -> list[str]:
    """The action names of a connector (for the Traces action filter)."""
    definition = Connector.objects.filter(slug=slug).values_list("definition", flat=True).first()
    if not isinstance(definition, dict):
        return []
    return sorted((definition.get("actions") or {}).keys())[:1000]


def call_traces_for_execution(*, execution_id: uuid.UUID, limit: int = 1000) -> list[CallTrace]:
    """An execution's connector calls in the order they were made (for its detail page)."""
    return list(CallTrace.objects.filter(execution_id=execution_id).order_by("created_at", "id")[:limit])


def call_traces_recent(*, connector: str, limit: int = 50) -> list[CallTrace]:
    return list(
        CallTrace.objects.select_related("customer")
        .filter(connector_slug=connector)
        .order_by("-created_at", "-id")[:limit]
    )


def connector_action_catalog() -> list[dict[str, Any]]:
    """Every enabled connector with its actions and their parameters (name,
    type, required, description): what the workflow editor completes, its
    sidebar inserts and the flow graph classifies. One query."""
    catalog_rows = []
    for connector in Connector.objects.filter(enabled=True).only("slug", "name", "definition").order_by("slug"):
        actions = []
        for name, action in ((connector.definition or {}).get("actions") or {}).items():
            schema = action.get("input_schema") or {}
            required = set(schema.get("required") or [])
            placeholders = re.findall(r"{(\w+)}", str(action.get("path", "")))
            properties = dict(schema.get("properties") or {})
            for placeholder in placeholders:
                properties.setdefault(placeholder, {"type": "string"})
                required.add(placeholder)
            actions.append(
                {
                    "name": name,
                    "method": str(action.get("method", "GET")).upper(),
                    "path": action.get("path", ""),
                    "description": action.get("description", ""),
                    "params": [
                        {
                            "name": param,
                            "type": (spec or {}).get("type", "") if isinstance(spec, dict) else "",
                            "required": param in required,
                            "description": (spec or {}).get("description", "") if isinstance(spec, dict) else "",
                        }
                        for param, spec in properties.items()
                    ],
                }
            )
        catalog_rows.append({"slug": connector.slug, "name": connector.name, "actions": actions})
    return catalog_rows
