"""Dashboard pages: Integrations → Connectors (with the catalogue), a
connector's page (actions, versions, traces), the JSON editor, OpenAPI
import; Integrations → Connections; Settings → OAuth Apps.

Credentials are only ever written from these pages, never shown.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.dashboard import dashboard_view, org_url, render_panel
from apps.accounts.roles import Resource
from apps.connectors import catalog, oauth_binding, selectors, services
from apps.connectors.credentials import credential_fields
from apps.connectors.exceptions import InvalidDefinition
from apps.connectors.forms import DefinitionForm, OAuthAppForm, OpenAPIImportForm
from apps.connectors.models import Connection
from apps.connectors.services.calls import connector_load
from apps.core.errors import FastnError

STATUS_CHOICES = [
    (Connection.Status.CONNECTED, "Connected"),
    (Connection.Status.NEEDS_REAUTH, "Needs re-authorisation"),
    (Connection.Status.ERROR, "Error"),
]


# --- Connectors and the catalogue -----------------------------------------------------------


def _connectors_context(request: HttpRequest, **extra) -> dict[str, Any]:
    query = request.GET.get("q", "").strip()
    category = request.GET.get("category", "").strip()
    installed = list(selectors.connector_list().order_by("name")[:500])
    counts = selectors.connection_counts_by_connector(connector_ids=[c.id for c in installed])
    for connector in installed:
        connector.connection_count = counts.get(connector.id, 0)
    return {
        "nav": "integrations",
        "tab": "connectors",
        "installed": installed,
        "catalog": selectors.catalog_entries(search=query, category=category),
        "categories": selectors.catalog_categories(),
        **_oauth_help(),
        "q": query,
        "category": category,
        **extra,
    }


@require_GET
@dashboard_view(Resource.CONNECTORS, "view")
def connectors_page(request: HttpRequest) -> HttpResponse:
    context = _connectors_context(request)
    if request.htmx and request.htmx.target == "catalog-cards":
        return render(request, "integrations/connectors.html#catalog", context)
    return render_panel(request, "integrations/connectors.html", context)


@require_POST
@dashboard_view(Resource.CONNECTORS, "create")
def catalog_install(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        connector, _ = services.connector_install_from_catalog(actor=request.principal, catalog_slug=slug)
    except FastnError as exc:
        return render_panel(
            request, "integrations/connectors.html", _connectors_context(request, error=exc.message), status=400
        )
    message = f"{connector.name} installed. Connect customers to it under Connections."
    return render_panel(request, "integrations/connectors.html", _connectors_context(request, message=message))


def _oauth_help() -> dict[str, Any]:
    """What the OAuth notes on cards and connector pages need: which
    connectors already have an OAuth app, and the redirect URI to register."""
    from apps.connectors.services.oauth_apps import default_callback_url

    return {"oauth_ready": selectors.oauth_ready_slugs(), "oauth_redirect_uri": default_callback_url()}


def _problems(exc: InvalidDefinition) -> list[dict[str, str]]:
    return exc.details.get("problems", [])


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.CONNECTORS, "view", write_action="create")
def connector_new(request: HttpRequest) -> HttpResponse:
    example = {
        "slug": "acme-crm",
        "name": "Acme CRM",
        "base_url": "https://api.acme.example/v2",
        "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
        "actions": {
            "listContacts": {"method": "GET", "path": "/contacts"},
            "getContact": {"method": "GET", "path": "/contacts/{id}"},
        },
    }
    form = DefinitionForm(request.POST or None, initial={"definition": json.dumps(example, indent=2)})
    context: dict[str, Any] = {"nav": "integrations", "tab": "connectors", "form": form, "mode": "new"}
    if request.method == "POST" and form.is_valid():
        try:
            connector = services.connector_create(actor=request.principal, definition=form.cleaned_data["definition"])
        except InvalidDefinition as exc:
            context["problems"] = _problems(exc)
        except FastnError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Connector {connector.name} created (version 1).")
            return redirect(org_url(request, "integrations_connector", slug=connector.slug))
    status = 400 if request.method == "POST" else 200
    return render(request, "integrations/connector_edit.html", context, status=status)


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.CONNECTORS, "view", write_action="edit")
def connector_edit(request: HttpRequest, slug: str) -> HttpResponse:
    connector = selectors.connector_get(slug=slug)
    form = DefinitionForm(request.POST or None, initial={"definition": json.dumps(connector.definition, indent=2)})
    context: dict[str, Any] = {
        "nav": "integrations",
        "tab": "connectors",
        "form": form,
        "mode": "edit",
        "connector": connector,
    }
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.connector_update(
                actor=request.principal,
                slug=slug,
                definition=form.cleaned_data["definition"],
                note="Edited in the dashboard",
            )
        except InvalidDefinition as exc:
            context["problems"] = _problems(exc)
        except FastnError as exc:
            form.add_error(None, exc.message)
        else:
            if updated.current_version != connector.current_version:
                messages.success(request, f"Saved as version {updated.current_version}.")
            else:
                messages.info(request, "No change: the definition is the same as the current version.")
            return redirect(org_url(request, "integrations_connector", slug=slug))
    status = 400 if request.method == "POST" else 200
    return render(request, "integrations/connector_edit.html", context, status=status)


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.CONNECTORS, "view", write_action="create")
def connector_import(request: HttpRequest) -> HttpResponse:
    form = OpenAPIImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"nav": "integrations", "tab": "connectors", "form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connector, created = services.connector_import_openapi(
                actor=request.principal,
                document=data["document"],
                slug=data["slug"] or None,
                name=data["name"] or None,
                base_url=data["base_url"] or None,
                replace=data["replace"],
            )
        except InvalidDefinition as exc:
            context["problems"] = _problems(exc)
        except FastnError as exc:
            form.add_error(None, exc.message)
        else:
            verb = "imported" if created else f"re-imported as version {connector.current_version}"
            messages.success(request, f"{connector.name} {verb}: {connector.action_count} actions.")
            return redirect(org_url(request, "integrations_connector", slug=connector.slug))
    status = 400 if request.method == "POST" else 200
    return render(request, "integrations/connector_import.html", context, status=status)


@require_GET
@dashboard_view(Resource.CONNECTORS, "view")
def connector_detail(request: HttpRequest, slug: str) -> HttpResponse:
    connector = selectors.connector_get(slug=slug)
    context = {
        "nav": "integrations",
        "tab": "connectors",
        "connector": connector,
        "actions": selectors.actions_of(connector.definition),
        "facts": selectors.connector_facts(connector.definition),
        "versions": list(selectors.connector_versions(connector=connector)[:50]),
        "traces": selectors.call_traces_recent(connector=slug, limit=50),
        "connection_count": selectors.connection_counts_by_connector(connector_ids=[connector.id]).get(connector.id, 0),
        **_oauth_help(),
    }
    return render(request, "integrations/connector_detail.html", context)


@require_POST
@dashboard_view(Resource.CONNECTORS, "edit")
def connector_toggle(request: HttpRequest, slug: str) -> HttpResponse:
    connector = selectors.connector_summary_get(slug=slug)
    services.connector_update(actor=request.principal, slug=slug, enabled=not connector.enabled)
    messages.success(request, f"{connector.name} {'disabled' if connector.enabled else 'enabled'}.")
    return redirect(org_url(request, "integrations_connector", slug=slug))


@require_POST
@dashboard_view(Resource.CONNECTORS, "delete")
def connector_delete(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        services.connector_delete(actor=request.principal, slug=slug)
    except FastnError as exc:
        messages.error(request, exc.message)
        return redirect(org_url(request, "integrations_connector", slug=slug))
    messages.success(request, f"Connector {slug} deleted.")
    return redirect(org_url(request, "integrations_connectors"))


# --- Connections --------------------------------------------------------------------------


def _customer_for(value: str):
    """The customer a form names ("" or "__organization__" for the organization)."""
    from apps.settings.selectors import customer_get

    if not value or value == "__organization__":
        return None
    return customer_get(external_id=value)


def _connections_context(request: HttpRequest, **extra) -> dict[str, Any]:
    from apps.settings.selectors import customer_list

    search = request.GET.get("q", "").strip()
    connector = request.GET.get("connector", "").strip()
    status = request.GET.get("status", "").strip()
    if status not in Connection.Status.values or request.GET.get("connection_id") or request.GET.get("error"):
        status = ""  # absent, or the OAuth callback's outcome rather than a filter
    connectors = list(selectors.connector_list(enabled=True).order_by("name"))
    chosen = extra.pop("chosen_connector", None) or request.GET.get("new", "")
    chosen_connector = next((c for c in connectors if c.slug == chosen), None)
    # A form sent back with an error keeps everything the member chose.
    submitted = extra.pop("submitted", None) or {}
    connections = list(selectors.connection_list_all(search=search, connector=connector, status=status)[:300])
    fields: dict[str, list] = {}
    for item in connections:
        if item.connector.slug not in fields:
            loaded = connector_load(slug=item.connector.slug)
            fields[item.connector.slug] = [f.as_dict() for f in credential_fields(loaded.head)] if loaded else []
        item.reconnect_fields = fields[item.connector.slug]
    return {
        "nav": "integrations",
        "tab": "connections",
        "connections": connections,
        "connectors": connectors,
        "customers": list(customer_list().order_by("name")[:500]),
        "status_choices": STATUS_CHOICES,
        "q": search,
        "connector_filter": connector,
        "status_filter": status,
        "chosen": chosen_connector,
        "facts": _with_values(
            selectors.connector_facts(selectors.connector_get(slug=chosen_connector.slug).definition), submitted
        )
        if chosen_connector
        else None,
        "submitted": submitted,
        **extra,
    }


def _with_values(facts: dict, submitted: dict) -> dict:
    """The connector's form fields, each with the value the member sent."""
    values = {"config_fields": submitted.get("config", {}), "credential_fields": submitted.get("credentials", {})}
    return {
        **facts,
        **{
            key: [{**field, "value": values[key].get(field["name"], "")} for field in facts.get(key, [])]
            for key in values
        },
    }


def _oauth_outcome(request: HttpRequest) -> dict[str, str]:
    """The message for a member coming back from the provider (the OAuth
    callback adds status=connected&connection_id=… or status=error&error=…)."""
    if request.GET.get("connection_id") and request.GET.get("status") == "connected":
        return {"message": "Connected. The credentials are stored encrypted."}
    if request.GET.get("error") and request.GET.get("status") == "error":
        detail = request.GET.get("error_description") or request.GET["error"]
        return {"error": f"Connecting failed: {detail[:300]}"}
    return {}


def _form_values(request: HttpRequest, prefix: str) -> dict[str, str]:
    return {
        key[len(prefix) :]: value
        for key, value in request.POST.items()
        if key.startswith(prefix) and value.strip() != ""
    }


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.CONNECTIONS, "view", write_action="create")
def connections_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        if request.htmx and request.htmx.target == "new-connection-fields":
            context = _connections_context(request, chosen_connector=request.GET.get("connector", ""))
            return render(request, "integrations/connections.html#fields", context)
        context = _connections_context(request, **_oauth_outcome(request))
        if request.htmx and request.htmx.target == "connection-rows":
            return render(request, "integrations/connections.html#rows", context)
        return render_panel(request, "integrations/connections.html", context)
    slug = request.POST.get("connector", "")
    try:
        connection = services.connection_create(
            actor=request.principal,
            connector_slug=slug,
            customer=_customer_for(request.POST.get("customer", "")),
            credentials=_form_values(request, "credentials."),
            config=_form_values(request, "config."),
            verify=request.POST.get("skip_verify") != "on",
        )
    except FastnError as exc:
        submitted = {
            "customer": request.POST.get("customer", ""),
            "config": _form_values(request, "config."),
            "credentials": _form_values(request, "credentials."),
            "skip_verify": request.POST.get("skip_verify") == "on",
        }
        context = _connections_context(request, error=exc.message, chosen_connector=slug, submitted=submitted)
        return render_panel(request, "integrations/connections.html", context, status=exc.status)
    who = connection.customer.external_id if connection.customer_id else "the organization"
    message = f"Connected {who} to {connection.connector.name}."
    return render_panel(request, "integrations/connections.html", _connections_context(request, message=message))


@require_POST
@dashboard_view(Resource.CONNECTIONS, "edit")
def connection_reconnect(request: HttpRequest, connection_id: str) -> HttpResponse:
    connection = selectors.connection_get_in_organization(connection_id=connection_id)
    try:
        services.connection_update(
            actor=request.principal, connection=connection, credentials=_form_values(request, "credentials.")
        )
    except FastnError as exc:
        return render_panel(
            request, "integrations/connections.html", _connections_context(request, error=exc.message), status=400
        )
    message = f"Reconnected {connection.connector.name}."
    return render_panel(request, "integrations/connections.html", _connections_context(request, message=message))


@require_POST
@dashboard_view(Resource.CONNECTIONS, "edit")
def connection_verify(request: HttpRequest, connection_id: str) -> HttpResponse:
    connection = selectors.connection_get_in_organization(connection_id=connection_id)
    try:
        outcome = services.connection_verify(actor=request.principal, connection=connection)
    except FastnError as exc:
        return render_panel(
            request, "integrations/connections.html", _connections_context(request, error=exc.message), status=400
        )
    key = "message" if outcome.ok else "error"
    text = "The provider accepted the credentials." if outcome.ok else f"Check failed: {outcome.message}"
    return render_panel(request, "integrations/connections.html", _connections_context(request, **{key: text}))


@require_POST
@dashboard_view(Resource.CONNECTIONS, "delete")
def connection_delete(request: HttpRequest, connection_id: str) -> HttpResponse:
    connection = selectors.connection_get_in_organization(connection_id=connection_id)
    outcome = services.connection_delete(actor=request.principal, connection=connection)
    suffix = " The token was revoked at the provider." if outcome == "revoked" else ""
    message = f"Connection to {connection.connector.name} deleted.{suffix}"
    return render_panel(request, "integrations/connections.html", _connections_context(request, message=message))


@require_GET
@dashboard_view(Resource.CONNECTIONS, "create")
def connection_oauth_start(request: HttpRequest, connector: str) -> HttpResponse:
    """Start an OAuth connection from the dashboard; the provider sends the
    member back to the Connections page."""
    back = request.build_absolute_uri(org_url(request, "integrations_connections"))
    # The member's browser is here: the state is bound to it at once.
    secret = oauth_binding.browser_secret_or_new(request)
    try:
        url, _state = services.oauth_authorize_start(
            actor=request.principal,
            connector_slug=connector,
            customer=_customer_for(request.GET.get("customer", "")),
            return_url=back,
            config={k[len("config.") :]: v for k, v in request.GET.items() if k.startswith("config.") and v},
            browser_secret=secret,
            trusted_return_url=True,
        )
    except FastnError as exc:
        messages.error(request, exc.message)
        return redirect(org_url(request, "integrations_connections"))
    return oauth_binding.remember_browser(HttpResponseRedirect(url), request, secret)


# --- Settings → OAuth Apps ------------------------------------------------------------------


def _oauth_connector_choices() -> list[tuple[str, str]]:
    installed = {c.slug: c.name for c in selectors.connector_list().filter(auth_type="oauth2")}
    for summary in catalog.catalog_summaries():
        if summary["auth_type"] == "oauth2":
            installed.setdefault(summary["slug"], summary["name"])
    return sorted(installed.items(), key=lambda item: item[1].lower())


def _oauth_apps_context(request: HttpRequest, **extra) -> dict[str, Any]:
    from apps.connectors.services.oauth_apps import default_callback_url
    from apps.connectors.services.oauth_flow import own_origins

    return {
        "nav": "settings",
        "section": "oauth_apps",
        "apps": selectors.oauth_app_list(),
        "platform": selectors.platform_oauth_app_list(),
        "default_redirect_uri": default_callback_url(),
        "form": extra.pop("form", None) or OAuthAppForm(connectors=_oauth_connector_choices()),
        "return_urls_text": "\n".join(selectors.oauth_redirect_uri_list()),
        "always_allowed": own_origins(),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.CONNECTORS, "view", write_action="edit")
def oauth_apps_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render_panel(request, "integrations/oauth_apps.html", _oauth_apps_context(request))
    form = OAuthAppForm(request.POST, connectors=_oauth_connector_choices())
    if not form.is_valid():
        return render_panel(
            request, "integrations/oauth_apps.html", _oauth_apps_context(request, form=form), status=400
        )
    data = form.cleaned_data
    existing = {app.connector_slug for app in selectors.oauth_app_list()}
    try:
        if data["connector"] in existing:
            kwargs: dict[str, Any] = {
                "client_id": data["client_id"],
                "redirect_uri": data["redirect_uri"],
                "scopes": data["scopes"],
            }
            if data["client_secret"]:
                kwargs["client_secret"] = data["client_secret"]
            services.oauth_app_update(actor=request.principal, connector_slug=data["connector"], **kwargs)
            message = f"OAuth app for {data['connector']} updated."
        else:
            services.oauth_app_create(
                actor=request.principal,
                connector_slug=data["connector"],
                client_id=data["client_id"],
                client_secret=data["client_secret"],
                redirect_uri=data["redirect_uri"],
                scopes=data["scopes"],
            )
            message = f"OAuth app for {data['connector']} saved."
    except FastnError as exc:
        form.add_error(None, exc.message)
        return render_panel(
            request, "integrations/oauth_apps.html", _oauth_apps_context(request, form=form), status=exc.status
        )
    return render_panel(request, "integrations/oauth_apps.html", _oauth_apps_context(request, message=message))


@require_POST
@dashboard_view(Resource.CONNECTORS, "delete")
def oauth_app_delete(request: HttpRequest, connector: str) -> HttpResponse:
    services.oauth_app_delete(actor=request.principal, connector_slug=connector)
    context = _oauth_apps_context(request, message=f"OAuth app for {connector} deleted.")
    return render_panel(request, "integrations/oauth_apps.html", context)


@require_POST
@dashboard_view(Resource.CONNECTORS, "edit")
def oauth_return_urls(request: HttpRequest) -> HttpResponse:
    """Settings → OAuth Apps → Allowed return URLs: one URL a line."""
    lines = [line.strip() for line in request.POST.get("redirect_uris", "").splitlines() if line.strip()]
    try:
        services.oauth_redirect_uris_set(actor=request.principal, uris=lines)
    except FastnError as exc:
        context = _oauth_apps_context(request, return_urls_error=exc.message, return_urls_text="\n".join(lines))
        return render_panel(request, "integrations/oauth_apps.html", context, status=exc.status)
    context = _oauth_apps_context(request, message="Allowed return URLs saved.")
    return render_panel(request, "integrations/oauth_apps.html", context)
