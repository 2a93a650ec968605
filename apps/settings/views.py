"""Settings pages of the dashboard: API Keys, Secrets, Customers, Environments,
Audit Log and Roles (htmx). People and General are in apps.accounts.views."""

from __future__ import annotations

from datetime import UTC

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.dashboard import dashboard_view, render_panel
from apps.accounts.roles import Resource
from apps.core.errors import FastnError
from apps.settings import selectors, services
from apps.settings.forms import (
    ApiKeyForm,
    AuditFilterForm,
    CustomerForm,
    EnvironmentForm,
    RoleCreateForm,
    SecretForm,
)

# --- API keys ----------------------------------------------------------------------


def _api_keys_context(request, **extra):
    return {
        "nav": "settings",
        "section": "api_keys",
        "keys": list(selectors.api_key_list(include_revoked=True)[:200]),
        "form": extra.pop("form", None) or ApiKeyForm(),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.API_KEYS, "view", write_action="create")
def api_keys(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render_panel(request, "settings/api_keys.html", _api_keys_context(request))
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return render_panel(request, "settings/api_keys.html", _api_keys_context(request, form=form), status=400)
    try:
        key, raw = services.api_key_create(
            actor=request.principal,
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            role=form.cleaned_data["role"] or None,
        )
    except FastnError as exc:
        form.add_error(None, exc.message)
        return render_panel(request, "settings/api_keys.html", _api_keys_context(request, form=form), status=exc.status)
    response = render_panel(request, "settings/api_keys.html", _api_keys_context(request, created=key, raw_key=raw))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@dashboard_view(Resource.API_KEYS, "delete")
def api_key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    services.api_key_revoke(actor=request.principal, key_id=key_id)
    return render_panel(request, "settings/api_keys.html", _api_keys_context(request))


# --- Secrets ---------------------------------------------------------------------------


def _secrets_context(request, **extra):
    return {
        "nav": "settings",
        "section": "secrets",
        "secrets": list(selectors.secret_list()[:500]),
        "form": extra.pop("form", None) or SecretForm(),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.SECRETS, "view", write_action="edit")
def secrets_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render_panel(request, "settings/secrets.html", _secrets_context(request))
    form = SecretForm(request.POST)
    if not form.is_valid():
        return render_panel(request, "settings/secrets.html", _secrets_context(request, form=form), status=400)
    try:
        secret, created = services.secret_put(
            actor=request.principal, name=form.cleaned_data["name"], value=form.cleaned_data["value"]
        )
    except FastnError as exc:
        form.add_error(None, exc.message)
        return render_panel(request, "settings/secrets.html", _secrets_context(request, form=form), status=exc.status)
    message = f"Secret {secret.name} {'created' if created else 'updated'}."
    return render_panel(request, "settings/secrets.html", _secrets_context(request, message=message))


@require_POST
@dashboard_view(Resource.SECRETS, "delete")
def secret_delete(request: HttpRequest, name: str) -> HttpResponse:
    services.secret_delete(actor=request.principal, name=name)
    return render_panel(request, "settings/secrets.html", _secrets_context(request, message=f"Secret {name} deleted."))


# --- Customers ------------------------------------------------------------------------


def _customers_context(request, **extra):
    search = request.GET.get("q", "").strip()
    return {
        "nav": "settings",
        "section": "customers",
        "q": search,
        "customers": list(selectors.customer_list(search=search).order_by("-created_at")[:200]),
        "form": extra.pop("form", None) or CustomerForm(),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.CUSTOMERS, "view", write_action="create")
def customers(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        context = _customers_context(request)
        if request.htmx and request.htmx.target == "customer-rows":
            return render(request, "settings/customers.html#rows", context)
        return render_panel(request, "settings/customers.html", context)
    form = CustomerForm(request.POST)
    if not form.is_valid():
        return render_panel(request, "settings/customers.html", _customers_context(request, form=form), status=400)
    try:
        customer = services.customer_create(actor=request.principal, **form.cleaned_data)
    except FastnError as exc:
        form.add_error("external_id" if exc.status == 409 else None, exc.message)
        return render_panel(
            request, "settings/customers.html", _customers_context(request, form=form), status=exc.status
        )
    return render_panel(
        request, "settings/customers.html", _customers_context(request, message=f"Customer {customer.name} added.")
    )


@require_POST
@dashboard_view(Resource.CUSTOMERS, "delete")
def customer_delete(request: HttpRequest, external_id: str) -> HttpResponse:
    services.customer_delete(actor=request.principal, external_id=external_id)
    return render_panel(request, "settings/customers.html", _customers_context(request, message="Customer deleted."))


# --- Environments ------------------------------------------------------------------------


def _environments_context(request, **extra):
    return {
        "nav": "settings",
        "section": "environments",
        "environments": selectors.environment_list(),
        "default_slugs": {slug for slug, _, _ in services.DEFAULT_ENVIRONMENTS},
        "form": extra.pop("form", None) or EnvironmentForm(),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.ENVIRONMENTS, "view", write_action="create")
def environments(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render_panel(request, "settings/environments.html", _environments_context(request))
    form = EnvironmentForm(request.POST)
    if not form.is_valid():
        return render_panel(
            request, "settings/environments.html", _environments_context(request, form=form), status=400
        )
    try:
        environment = services.environment_create(actor=request.principal, **form.cleaned_data)
    except FastnError as exc:
        form.add_error("slug" if exc.status == 409 else None, exc.message)
        return render_panel(
            request, "settings/environments.html", _environments_context(request, form=form), status=exc.status
        )
    message = f"Environment {environment.slug} created."
    return render_panel(request, "settings/environments.html", _environments_context(request, message=message))


@require_POST
@dashboard_view(Resource.ENVIRONMENTS, "delete")
def environment_delete(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        services.environment_delete(actor=request.principal, slug=slug)
    except FastnError as exc:
        context = _environments_context(request, error=exc.message)
        return render_panel(request, "settings/environments.html", context, status=exc.status)
    context = _environments_context(request, message=f"Environment {slug} deleted.")
    return render_panel(request, "settings/environments.html", context)


# --- Audit log --------------------------------------------------------------------------------


AUDIT_PAGE_SIZE = 50


@require_http_methods(["GET"])
@dashboard_view(Resource.AUDIT_LOG, "view")
def audit_log(request: HttpRequest) -> HttpResponse:
    from datetime import datetime, time, timedelta

    form = AuditFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    since = filters.get("since")
    until = filters.get("until")
    error = None
    try:
        page = selectors.audit_event_page(
            cursor=filters.get("cursor") or None,
            limit=AUDIT_PAGE_SIZE,
            actor=filters.get("actor", ""),
            action=filters.get("action", ""),
            resource_type=filters.get("resource_type", ""),
            outcome=filters.get("outcome", ""),
            since=datetime.combine(since, time.min, tzinfo=UTC) if since else None,
            until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC) if until else None,
        )
    except FastnError as exc:
        page, error = None, exc.message
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "nav": "settings",
        "section": "audit_log",
        "form": form,
        "events": page.items if page else [],
        "next_cursor": page.next_cursor if page else None,
        "query": query.urlencode(),
        "choices": selectors.audit_filter_values(),
        "error": error or (None if form.is_valid() else "Some filters are not valid."),
    }
    if request.htmx and request.GET.get("cursor"):
        return render(request, "settings/audit.html#rows", context)
    if request.htmx and request.htmx.target == "audit-results":
        return render(request, "settings/audit.html#results", context)
    return render(request, "settings/audit.html", context)


# --- Roles -------------------------------------------------------------------------------------


def _matrix(permissions, editable_for: frozenset[str] | None):
    """Rows of the matrix: a resource and, per action column, a cell."""
    from apps.accounts.roles import Action, actions_for, resources_shown

    rows = []
    for resource in resources_shown():
        cells = []
        valid = actions_for(resource)
        for action in Action:
            code = f"{resource.value}.{action.value}"
            cells.append(
                {
                    "code": code,
                    "applies": action in valid,
                    "checked": code in permissions,
                    "editable": editable_for is not None and action in valid and code in editable_for,
                }
            )
        rows.append({"resource": resource, "cells": cells})
    return rows


def _roles_context(request, selected: str | None = None, **extra):
    from apps.accounts.access import role_scope_ids, scopable_types
    from apps.accounts.roles import SYSTEM_ROLE_PERMISSIONS, Action, SystemRole
    from apps.accounts.selectors import role_member_counts

    principal = request.principal
    custom = selectors.custom_role_list()
    counts = role_member_counts(organization=principal.organization)
    roles = [{"slug": r.value, "name": r.label, "system": True, "members": counts.get(r.value, 0)} for r in SystemRole]
    roles += [{"slug": r.slug, "name": r.name, "system": False, "members": counts.get(r.slug, 0)} for r in custom]
    selected = selected or request.GET.get("role") or SystemRole.OWNER
    current = next((r for r in roles if r["slug"] == selected), roles[0])
    can_edit = principal.can(Resource.ROLES, "edit")
    scopes = []
    if current["system"]:
        permissions = SYSTEM_ROLE_PERMISSIONS[current["slug"]]
        role_obj = None
        editable = None
    else:
        role_obj = next(r for r in custom if r.slug == current["slug"])
        permissions = frozenset(role_obj.permissions)
        editable = principal.permissions if can_edit else None
        for resource, kind in scopable_types().items():
            model = kind.model()
            chosen = set(role_scope_ids(principal.organization, role_obj.slug, resource))
            options = [
                str(getattr(obj, kind.lookup_field)) for obj in model._default_manager.order_by(kind.lookup_field)[:200]
            ]
            scopes.append(
                {
                    "resource": resource,
                    "label": Resource(resource).label,
                    "narrowed": resource in role_obj.scoped_resources,
                    "options": [{"id": o, "chosen": o in chosen} for o in options],
                }
            )
    return {
        "nav": "settings",
        "section": "roles",
        "roles": roles,
        "current": current,
        "role": role_obj,
        "actions": list(Action),
        "matrix": _matrix(permissions, editable),
        "scopes": scopes,
        "can_edit": can_edit and not current["system"],
        "can_create": principal.can(Resource.ROLES, "create"),
        "can_delete": principal.can(Resource.ROLES, "delete") and not current["system"],
        "create_form": extra.pop("create_form", None) or RoleCreateForm(),
        **extra,
    }


def _with_role_url(request: HttpRequest, response: HttpResponse, slug: str) -> HttpResponse:
    """Point the address bar at the role shown, so a reload shows it again."""
    from apps.accounts.dashboard import org_url

    response["HX-Push-Url"] = f"{org_url(request, 'settings_roles')}?role={slug}"
    return response


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.ROLES, "view", write_action="create")
def roles(request: HttpRequest) -> HttpResponse:
    from django.utils.text import slugify

    from apps.accounts.roles import role_permissions

    if request.method == "GET":
        return render_panel(request, "settings/roles.html", _roles_context(request))
    form = RoleCreateForm(request.POST)
    if not form.is_valid():
        return render_panel(request, "settings/roles.html", _roles_context(request, create_form=form), status=400)
    data = form.cleaned_data
    slug = data["slug"] or slugify(data["name"])[:64]
    base = data["copy_from"]
    permissions = sorted(role_permissions(base) & request.principal.permissions) if base else []
    try:
        role = services.role_create(
            actor=request.principal,
            slug=slug,
            name=data["name"],
            description=data["description"],
            permissions=permissions,
        )
    except FastnError as exc:
        form.add_error(None, exc.message)
        context = _roles_context(request, create_form=form)
        return render_panel(request, "settings/roles.html", context, status=exc.status)
    context = _roles_context(request, selected=role.slug, message=f"Role {role.name} created.")
    return _with_role_url(request, render_panel(request, "settings/roles.html", context), role.slug)


@require_POST
@dashboard_view(Resource.ROLES, "edit")
def role_save(request: HttpRequest, slug: str) -> HttpResponse:
    """Save the matrix and the object scopes of a custom role."""
    from apps.accounts.access import scopable_types
    from apps.accounts.roles import RESOURCES_NOT_IN_USE
    from apps.settings.models import CustomRole

    # The page does not show the resources nothing uses yet: keep what the
    # role holds for them rather than dropping it with every save.
    current = CustomRole.objects.filter(slug=slug).only("permissions").first()
    kept = [p for p in (current.permissions if current else []) if p.split(".", 1)[0] in RESOURCES_NOT_IN_USE]
    permissions = request.POST.getlist("perm") + kept
    scopes = {}
    for resource in scopable_types():
        if request.POST.get(f"scope_{resource}") == "chosen":
            scopes[resource] = request.POST.getlist(f"objects_{resource}")
    try:
        role = services.role_update(
            actor=request.principal,
            slug=slug,
            name=request.POST.get("name") or None,
            permissions=permissions,
            scopes=scopes,
        )
    except FastnError as exc:
        context = _roles_context(request, selected=slug, error=exc.message)
        return render_panel(request, "settings/roles.html", context, status=exc.status)
    context = _roles_context(request, selected=role.slug, message=f"Role {role.name} saved.")
    return _with_role_url(request, render_panel(request, "settings/roles.html", context), role.slug)


@require_POST
@dashboard_view(Resource.ROLES, "delete")
def role_delete(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        services.role_delete(actor=request.principal, slug=slug)
    except FastnError as exc:
        context = _roles_context(request, selected=slug, error=exc.message)
        return render_panel(request, "settings/roles.html", context, status=exc.status)
    return render_panel(request, "settings/roles.html", _roles_context(request, message=f"Role {slug} deleted."))
