"""Pages that gather several apps: the organization picker, Home, the
Integrations overview and the landing of sections without pages of their own.

They read through the selectors of the apps that own the data (settings,
connectors, workflows); nothing here writes.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.dashboard import dashboard_view
from apps.accounts.selectors import organizations_for_user
from apps.core.navigation import SECTIONS, section_context


def root(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("organization_picker")
    return redirect("account_login")


@login_required
def organization_picker(request: HttpRequest) -> HttpResponse:
    organizations = list(organizations_for_user(user=request.user))
    if len(organizations) == 1 and not request.GET.get("all"):
        return redirect("home", org_slug=organizations[0].slug)
    return render(request, "dashboard/picker.html", {"organizations": organizations})


@dashboard_view()
def home(request: HttpRequest) -> HttpResponse:
    from apps.settings.selectors import home_summary

    return render(request, "dashboard/home.html", {"nav": "home", "summary": home_summary(principal=request.principal)})


def _section(request: HttpRequest, key: str) -> HttpResponse:
    context = section_context(request, key)
    if context["tabs"]:
        return redirect(context["tabs"][0]["url"])
    return render(request, "dashboard/section.html", {**context, "empty": bool(SECTIONS[key].tabs)})


@dashboard_view()
def integrations(request: HttpRequest) -> HttpResponse:
    """The Integrations landing: a summary card per area the member may view."""
    from apps.connectors import catalog
    from apps.connectors import selectors as connectors
    from apps.workflows import selectors as workflows

    principal = request.principal
    context: dict = {"nav": "integrations", "tab": "overview"}
    if principal.can("connectors", "view"):
        context["connectors"] = connectors.connector_list().count()
        context["catalog_size"] = catalog.catalog_size()  # loaded once per process, never copied
    if principal.can("connections", "view"):
        context["connection_counts"] = connectors.connection_counts()
    if principal.can("workflows", "view"):
        context["workflows"] = workflows.workflow_list().count()
    return render(request, "integrations/index.html", context)


@dashboard_view()
def widgets(request: HttpRequest) -> HttpResponse:
    return _section(request, "widgets")
