"""Dashboard pages of the core app: the organization picker, Home, the
sections of the main navigation (with their tabs), and the error pages (JSON
under /api/, HTML elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from apps.accounts.roles import Resource
from apps.accounts.selectors import organizations_for_user
from apps.core.dashboard import dashboard_view, org_url
from apps.core.errors import error_body
from apps.core.middleware import is_api_path


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


@dataclass(frozen=True)
class SectionTab:
    """One tab of a section's sub-navigation. It shows to members whose role
    can `action` on `resource` (None: every member)."""

    label: str
    url_name: str
    resource: str | None
    action: str = "view"


@dataclass(frozen=True)
class Section:
    title: str
    lead: str
    tabs: tuple[SectionTab, ...] = ()


# The sections of the main navigation and their tabs. To add a page to a
# section, add its tab here; the section's address opens the first tab the
# member may see.
SECTIONS: dict[str, Section] = {
    "integrations": Section(
        "Integrations",
        "Connectors, connections, workflows and triggers of this organization.",
        tabs=(SectionTab("Workflows", "workflows", Resource.WORKFLOWS),),
    ),
    "widgets": Section("Widgets", "The embeddable widget your customers use to connect apps and turn workflows on."),
    "activity": Section(
        "Activity",
        "Executions, events and traces of this organization.",
        tabs=(SectionTab("Executions", "executions", Resource.WORKFLOWS),),
    ),
}


def section_context(request: HttpRequest, key: str, current: str = "") -> dict:
    """Template context of a section page: main-nav item, title, and the tabs
    the member may see (`current` is the url name of the open tab)."""
    section = SECTIONS[key]
    principal = request.principal  # type: ignore[attr-defined]
    tabs = [
        {
            "label": tab.label,
            "url": org_url(request, tab.url_name),
            "current": tab.url_name == current,
        }
        for tab in section.tabs
        if tab.resource is None or principal.can(tab.resource, tab.action)
    ]
    return {"nav": key, "title": section.title, "lead": section.lead, "tabs": tabs}


def _section(request: HttpRequest, key: str) -> HttpResponse:
    context = section_context(request, key)
    if context["tabs"]:
        return redirect(context["tabs"][0]["url"])
    return render(request, "dashboard/section.html", {**context, "empty": bool(SECTIONS[key].tabs)})


@dashboard_view()
def integrations(request: HttpRequest) -> HttpResponse:
    return _section(request, "integrations")


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
