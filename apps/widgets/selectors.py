"""Reads of widgets: sessions, the widget, templates, activations, and what
a customer session may see."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.core.pagination import Page, paginate_newest_first
from apps.settings.models import Customer
from apps.widgets.exceptions import SessionNotFound
from apps.widgets.models import WidgetConfig
from apps.widgets.shared.models import CustomerSession, EmbedOrigin


def parse_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


# --- sessions -----------------------------------------------------------------------------


def customer_session_for_token(*, raw_token: str) -> CustomerSession | None:
    """The session a presented token names, whatever its state (the caller
    tells expired and revoked apart), with its organization and plan."""
    from apps.widgets.services.sessions import MAX_TOKEN_LENGTH, TOKEN_PREFIX, session_token_hash

    if not raw_token.startswith(TOKEN_PREFIX) or len(raw_token) > MAX_TOKEN_LENGTH:
        return None
    return (
        CustomerSession.objects.select_related("organization__plan")
        .filter(token_hash=session_token_hash(raw_token))
        .first()
    )


def customer_session_page(*, organization, customer: Customer, cursor: str | None, limit: int, state: str = "") -> Page:
    """A customer's sessions, newest first; `state`: active, expired, revoked or all."""
    queryset = CustomerSession.objects.filter(organization=organization, customer_id=customer.pk)
    now = timezone.now()
    if state == "active":
        queryset = queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
    elif state == "expired":
        queryset = queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
    elif state == "revoked":
        queryset = queryset.filter(revoked_at__isnull=False)
    return paginate_newest_first(queryset, cursor=cursor, limit=limit)


def customer_session_get(*, organization, customer: Customer, session_id: Any) -> CustomerSession:
    parsed = parse_uuid(session_id)
    session = (
        CustomerSession.objects.filter(organization=organization, customer_id=customer.pk, pk=parsed).first()
        if parsed
        else None
    )
    if session is None:
        raise SessionNotFound("No session with this id for this customer.")
    return session


def session_state(session: CustomerSession, *, now=None) -> str:
    now = now or timezone.now()
    if session.revoked_at is not None:
        return "revoked"
    return "active" if session.expires_at > now else "expired"


# --- the widget ---------------------------------------------------------------------------


def widget_config() -> WidgetConfig:
    """The organization's widget (an unsaved default before the first PUT)."""
    return WidgetConfig.objects.filter(pk=1).first() or WidgetConfig(pk=1)


def origin_allowed_anywhere(*, origin: str) -> bool:
    """Does any organization's widget, or any live session, allow `origin`?
    Decides CORS preflights, which carry no token."""
    if EmbedOrigin.objects.filter(origin=origin).exists():
        return True
    return CustomerSession.objects.filter(
        allowed_origin=origin, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).exists()


def embed_integrations(*, widget: WidgetConfig, session: CustomerSession) -> list[tuple[str, str]]:
    """(connector slug, label) a session may use, in display order: the
    widget's integrations, or those the session names (the widget's order and
    labels first, then the session's own)."""
    configured = [(item["connector"], item.get("label") or "") for item in widget.integrations or []]
    if session.integrations is None:
        return configured
    wanted = list(session.integrations)
    labels = dict(configured)
    ordered = [(slug, label) for slug, label in configured if slug in wanted]
    ordered += [(slug, "") for slug in wanted if slug not in labels]
    return ordered


def activation_queryset() -> QuerySet:
    from apps.widgets.models import Activation

    return Activation.objects.select_related("template", "trigger")


# --- what the end-user API shows ------------------------------------------------------------

# Connector content hash → what connecting it needs (definitions are immutable per hash).
_CONNECT_FACTS: dict[str, dict[str, Any]] = {}
_FACTS_LIMIT = 2000


def connector_cards(*, slugs: list[str]) -> dict[str, dict[str, Any]]:
    """For each enabled connector of `slugs`: name, description, icon and
    what connecting needs (auth type, credential and setting fields). Two
    queries at most, whatever the number of connectors."""
    from apps.connectors.selectors import connector_facts, connector_list

    rows = list(
        connector_list(enabled=True)
        .filter(slug__in=slugs)
        .values("slug", "name", "description", "auth_type", "content_hash")
    )
    missing = [row["content_hash"] for row in rows if row["content_hash"] not in _CONNECT_FACTS]
    if missing:
        if len(_CONNECT_FACTS) > _FACTS_LIMIT:
            _CONNECT_FACTS.clear()
        for found in connector_list().filter(content_hash__in=missing).values("content_hash", "definition"):
            definition = found["definition"] or {}
            facts = connector_facts(definition)
            facts["icon"] = definition.get("icon") if isinstance(definition.get("icon"), str) else None
            _CONNECT_FACTS[found["content_hash"]] = facts
    cards = {}
    for row in rows:
        facts = _CONNECT_FACTS.get(row["content_hash"], {})
        cards[row["slug"]] = {
            "name": row["name"],
            "description": row["description"],
            "auth_type": row["auth_type"],
            "oauth": facts.get("auth_type") == "oauth2" and facts.get("oauth_grant") != "client_credentials",
            "icon": facts.get("icon"),
            "credential_fields": facts.get("credential_fields", []),
            "config_fields": facts.get("config_fields", []),
        }
    return cards


def embed_connections(*, customer: Customer, slugs: list[str]) -> QuerySet:
    """The customer's live connections to the connectors it may use."""
    from apps.connectors.selectors import connection_list_for_customer

    return connection_list_for_customer(customer=customer).filter(connector__slug__in=slugs)


# --- templates ---------------------------------------------------------------------------------


def template_list(*, search: str = "", workflow: str = "") -> QuerySet:
    from apps.widgets.models import Template

    queryset = Template.objects.select_related("workflow")
    if search:
        queryset = queryset.filter(title__icontains=search)
    if workflow:
        queryset = queryset.filter(workflow__slug=workflow)
    return queryset


def template_get(*, slug: str):
    from apps.widgets.exceptions import TemplateNotFound
    from apps.widgets.models import Template

    template = Template.objects.select_related("workflow").filter(slug=slug).first() if isinstance(slug, str) else None
    if template is None:
        raise TemplateNotFound(f"No template {slug!r}.")
    return template


def template_activation_counts(*, template_ids: list) -> dict[Any, dict[str, int]]:
    from django.db.models import Count, Q

    from apps.widgets.models import Activation

    rows = (
        Activation.objects.filter(template_id__in=template_ids)
        .values("template_id")
        .annotate(enabled=Count("id", filter=Q(enabled=True)), total=Count("id"))
    )
    return {row["template_id"]: {"enabled": row["enabled"], "total": row["total"]} for row in rows}


def template_activations(*, template) -> QuerySet:
    from apps.widgets.models import Activation

    return Activation.objects.select_related("customer", "trigger", "template").filter(template=template)


def embed_templates(*, context) -> tuple[list, dict]:
    """The templates a session shows, in the widget's order, and this
    customer's activations by template id. Templates the widget no longer
    lists stay visible while the customer has them enabled (so they can
    switch them off); a session restricted to some integrations sees only
    templates whose apps are all among them."""
    from apps.widgets.models import Activation, Template

    activations = {
        a.template_id: a for a in Activation.objects.select_related("trigger").filter(customer=context.customer)
    }
    listed = list(context.widget.templates or [])
    enabled_ids = [tid for tid, a in activations.items() if a.enabled]
    templates = list(Template.objects.select_related("workflow").filter(Q(slug__in=listed) | Q(id__in=enabled_ids)))
    position = {slug: index for index, slug in enumerate(listed)}
    templates.sort(key=lambda t: (position.get(t.slug, len(listed)), t.title))
    if context.session.integrations is not None:
        allowed = set(context.connector_slugs)
        templates = [t for t in templates if set(t.connectors) <= allowed]
    return templates, activations


def embed_template_get(*, context, slug: str):
    """A template this session shows, with the customer's activation (or None); 404 otherwise."""
    from apps.widgets.exceptions import TemplateNotFound

    templates, activations = embed_templates(context=context)
    for template in templates:
        if template.slug == slug:
            return template, activations.get(template.id)
    raise TemplateNotFound(f"No template {slug!r}.")


# --- runs and insights -----------------------------------------------------------------------

ATTENTION_CONNECTION_STATUSES = ("needs_reauth", "error")
LAST_RUN_WINDOW_DAYS = 30


def embed_run_templates(*, context) -> dict[str, Any]:
    """workflow slug → the template its runs belong to, for this customer: the
    templates the session shows and those the customer has activated (old
    runs keep their title). With several templates on one workflow, the one
    the customer activated wins."""
    from apps.widgets.models import Template

    templates, activations = embed_templates(context=context)
    by_workflow: dict[str, Any] = {}
    for template in templates:
        by_workflow.setdefault(template.workflow.slug, template)
    activated = Template.objects.select_related("workflow").filter(id__in=[a.template_id for a in activations.values()])
    if context.session.integrations is not None:
        allowed = set(context.connector_slugs)
        activated = [t for t in activated if set(t.connectors) <= allowed]
    for template in activated:
        by_workflow[template.workflow.slug] = template
    return by_workflow


def embed_execution_page(*, customer: Customer, workflow_slugs: list[str], status: str, cursor, limit: int) -> Page:
    from apps.workflows.selectors import execution_list_for_customer

    queryset = execution_list_for_customer(
        customer_external_id=customer.external_id, workflow_slugs=workflow_slugs, status=status
    )
    return paginate_newest_first(queryset, cursor=cursor, limit=limit)


def embed_execution_get(*, customer: Customer, workflow_slugs: list[str], execution_id: Any):
    from apps.workflows.selectors import execution_list_for_customer

    parsed = parse_uuid(execution_id)
    if parsed is None:
        return None
    return (
        execution_list_for_customer(customer_external_id=customer.external_id, workflow_slugs=workflow_slugs)
        .filter(pk=parsed)
        .first()
    )


def embed_insights(*, context) -> dict[str, Any]:
    """The Insights tab's figures for this customer (see EmbedInsightsView)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from apps.workflows.selectors import execution_day_figures, executions_latest_by_workflow

    organization = context.session.organization
    try:
        zone = ZoneInfo(organization.timezone or "UTC")
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    now = timezone.now()
    since = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    templates = embed_run_templates(context=context)
    figures = execution_day_figures(
        customer_external_id=context.customer.external_id, workflow_slugs=list(templates), since=since
    )
    attention: list[dict[str, Any]] = []
    for connection in embed_connections(customer=context.customer, slugs=context.connector_slugs).filter(
        status__in=ATTENTION_CONNECTION_STATUSES
    ):
        attention.append(
            {
                "kind": "connection",
                "connector": connection.connector.slug,
                "status": connection.status,
                "message": connection.last_error or "Reconnect this app.",
                "at": connection.last_error_at or connection.status_changed_at,
            }
        )
    _, activations = embed_templates(context=context)
    enabled = {a.template_id for a in activations.values() if a.enabled}
    watched = {slug: t for slug, t in templates.items() if t.id in enabled}
    latest = executions_latest_by_workflow(
        customer_external_id=context.customer.external_id,
        workflow_slugs=list(watched),
        since=now - dt.timedelta(days=LAST_RUN_WINDOW_DAYS),
    )
    for execution in latest:
        if execution.status in ("failed", "timeout"):
            attention.append(
                {
                    "kind": "template",
                    "template": watched[execution.workflow_slug].slug,
                    "status": execution.status,
                    "message": execution.error_message or "The last run did not finish.",
                    "at": execution.finished_at or execution.created_at,
                    "execution_id": execution.id,
                }
            )
    return {
        "runs_today": figures["runs"],
        "records_processed": figures["records"],
        "failed_today": figures["failed"],
        "needs_attention": len(attention),
        "since": since,
        "attention": attention,
    }
