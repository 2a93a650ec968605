"""Dashboard pages of the core app: the organization picker, Home, the
sections of the main navigation (with their tabs), and the error pages (JSON
under /api/, HTML elsewhere)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from apps.accounts.selectors import organizations_for_user
from apps.core.dashboard import dashboard_view
from apps.core.errors import error_body
from apps.core.middleware import is_api_path
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


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse(error_body("not_found", "Not found.", {"path": request.path}), status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse(
            error_body("internal_error", "Something went wrong on our side. It has been logged."), status=500
        )
    return render(request, "500.html", status=500)


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
    from apps.workflows.models import Workflow

    principal = request.principal
    context: dict = {"nav": "integrations", "tab": "overview"}
    if principal.can("connectors", "view"):
        context["connectors"] = connectors.connector_list().count()
        context["catalog_size"] = catalog.catalog_size()  # loaded once per process
    if principal.can("connections", "view"):
        context["connection_counts"] = connectors.connection_counts()
    if principal.can("workflows", "view"):
        context["workflows"] = Workflow.objects.count()
    return render(request, "integrations/index.html", context)


@dashboard_view()
def widgets(request: HttpRequest) -> HttpResponse:
    return _section(request, "widgets")


@dashboard_view()
def activity(request: HttpRequest) -> HttpResponse:
    return _section(request, "activity")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse(
            error_body(
                "csrf_failed",
                "This call carries a session cookie but no valid CSRF token. Send x-fastn-access-key "
                "instead, or the X-CSRFToken header.",
            ),
            status=403,
        )
    return render(request, "403_csrf.html", {"reason": reason}, status=403)
