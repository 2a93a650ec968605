"""Settings pages of the dashboard: API Keys, Secrets, Customers (htmx)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.roles import Resource
from apps.core.dashboard import dashboard_view
from apps.core.errors import FastnError
from apps.settings import selectors, services
from apps.settings.forms import ApiKeyForm, CustomerForm, SecretForm


def _panel(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """The whole page, or only its panel when htmx asks."""
    name = f"{template}#panel" if request.htmx else template
    return render(request, name, context, status=status)


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
        return _panel(request, "settings/api_keys.html", _api_keys_context(request))
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _panel(request, "settings/api_keys.html", _api_keys_context(request, form=form), status=400)
    try:
        key, raw = services.api_key_create(
            actor=request.principal,
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            role=form.cleaned_data["role"] or None,
        )
    except FastnError as exc:
        form.add_error(None, exc.message)
        return _panel(request, "settings/api_keys.html", _api_keys_context(request, form=form), status=exc.status)
    response = _panel(request, "settings/api_keys.html", _api_keys_context(request, created=key, raw_key=raw))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@dashboard_view(Resource.API_KEYS, "delete")
def api_key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    services.api_key_revoke(actor=request.principal, key_id=key_id)
    return _panel(request, "settings/api_keys.html", _api_keys_context(request))


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
        return _panel(request, "settings/secrets.html", _secrets_context(request))
    form = SecretForm(request.POST)
    if not form.is_valid():
        return _panel(request, "settings/secrets.html", _secrets_context(request, form=form), status=400)
    try:
        secret, created = services.secret_put(
            actor=request.principal, name=form.cleaned_data["name"], value=form.cleaned_data["value"]
        )
    except FastnError as exc:
        form.add_error(None, exc.message)
        return _panel(request, "settings/secrets.html", _secrets_context(request, form=form), status=exc.status)
    message = f"Secret {secret.name} {'created' if created else 'updated'}."
    return _panel(request, "settings/secrets.html", _secrets_context(request, message=message))


@require_POST
@dashboard_view(Resource.SECRETS, "delete")
def secret_delete(request: HttpRequest, name: str) -> HttpResponse:
    services.secret_delete(actor=request.principal, name=name)
    return _panel(request, "settings/secrets.html", _secrets_context(request, message=f"Secret {name} deleted."))


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
        return _panel(request, "settings/customers.html", context)
    form = CustomerForm(request.POST)
    if not form.is_valid():
        return _panel(request, "settings/customers.html", _customers_context(request, form=form), status=400)
    try:
        customer = services.customer_create(actor=request.principal, **form.cleaned_data)
    except FastnError as exc:
        form.add_error("external_id" if exc.status == 409 else None, exc.message)
        return _panel(request, "settings/customers.html", _customers_context(request, form=form), status=exc.status)
    return _panel(
        request, "settings/customers.html", _customers_context(request, message=f"Customer {customer.name} added.")
    )


@require_POST
@dashboard_view(Resource.CUSTOMERS, "delete")
def customer_delete(request: HttpRequest, external_id: str) -> HttpResponse:
    services.customer_delete(actor=request.principal, external_id=external_id)
    return _panel(request, "settings/customers.html", _customers_context(request, message="Customer deleted."))
