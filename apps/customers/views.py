"""A customer's page: details (editable), connections, executions, usage, sessions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.accounts.dashboard import dashboard_view, org_url
from apps.accounts.roles import Resource
from apps.core.errors import FastnError
from apps.customers.forms import CustomerEditForm
from apps.settings import selectors as settings_selectors
from apps.settings import services as settings_services

RECENT_EXECUTIONS = 20
RECENT_SESSIONS = 20


def _sessions(request: HttpRequest, customer) -> list[dict[str, Any]]:
    """The customer's embedding sessions (apps.widgets), newest first, with their state."""
    from apps.widgets.selectors import customer_session_page, session_state

    page = customer_session_page(
        organization=request.organization, customer=customer, cursor=None, limit=RECENT_SESSIONS
    )
    return [{"session": s, "state": session_state(s)} for s in page.items]


def _context(request: HttpRequest, customer, form: CustomerEditForm) -> dict[str, Any]:
    principal = request.principal
    context: dict[str, Any] = {"nav": "settings", "section": "customers", "customer": customer, "form": form}
    context["can_edit"] = principal.can(Resource.CUSTOMERS, "edit")
    if principal.can(Resource.CONNECTIONS, "view"):
        from apps.connectors import selectors as connector_selectors

        context["connections"] = list(
            connector_selectors.connection_list_for_customer(customer=customer).order_by("-created_at")[:100]
        )
    if principal.can(Resource.WORKFLOWS, "view"):
        from apps.workflows import selectors as workflow_selectors

        page = workflow_selectors.execution_page(cursor=None, limit=RECENT_EXECUTIONS, customer=customer.external_id)
        context["executions"] = page.items
        context["more_executions"] = page.has_more
    if principal.can(Resource.BILLING, "view"):
        from apps.billing.selectors import usage_report

        report = usage_report(organization=request.organization, customer_external_id=customer.external_id)
        entry = (report.get("customers") or [{}])[0]
        context["usage"] = list((entry.get("quotas") or {}).values())
    context["sessions"] = _sessions(request, customer)
    return context


@require_http_methods(["GET", "POST"])
@dashboard_view(Resource.CUSTOMERS, "view", write_action="edit")
def customer_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    customer = settings_selectors.customer_get(external_id=external_id)
    if request.method == "GET":
        form = CustomerEditForm(initial={"name": customer.name, "tier": customer.tier, "region": customer.region})
        return render(request, "customers/detail.html", _context(request, customer, form))
    form = CustomerEditForm(request.POST)
    if form.is_valid():
        try:
            settings_services.customer_update(actor=request.principal, external_id=external_id, **form.cleaned_data)
        except FastnError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Customer {form.cleaned_data['name']} saved.")
            return redirect(org_url(request, "settings_customer", external_id=external_id))
    return render(request, "customers/detail.html", _context(request, customer, form), status=400)
